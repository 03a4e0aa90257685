"""The interactive profiler's screens: the setup form, the live view, the runs table, dialogs."""
