"""seal's learning engine: papers -> passages -> self-edits -> LoRA updates -> scores.

Never imports textual or seal_tui; the CLI and the terminal app are its clients.
"""
