"""The `brain` command: every subcommand's parser and its output (``main`` is the entry point)."""
