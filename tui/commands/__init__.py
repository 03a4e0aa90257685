"""One module per command: each turns parsed flags into calls on profilers and prints."""
