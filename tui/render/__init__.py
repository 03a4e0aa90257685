"""Rich renderables shared by the CLI and the TUI: status lines and result tables."""
