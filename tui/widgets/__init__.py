"""Widgets of the interactive profiler: meters, panels of the live view, the runs table."""
