"""Starts the Textual app; kept apart so `seal --help` never imports textual."""
from __future__ import annotations


def launch_app() -> int:
    from seal_tui.app import SealApp

    SealApp().run()
    return 0
