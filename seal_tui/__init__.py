"""seal's user-facing side: the command line and the Textual app. Imports engine, never the reverse."""
