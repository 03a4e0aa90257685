"""What the user touches: the typer CLI and the Textual app."""
