"""The `seal` command line: one module per command, beside the app (seal_tui) it opens when run bare."""
