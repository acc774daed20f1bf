"""Starts the Textual app; kept apart so `seal --help` never imports textual.

Textual draws the app on stderr and reads keys from stdin: with either redirected (`seal
2>log`) the terminal would stay blank, so the app does not start and one line says why.
Under textual-serve (`seal serve`) the app talks to the browser through pipes, through the
web driver named in TEXTUAL_DRIVER, and needs no terminal."""

from __future__ import annotations

import os
import sys

WEB_DRIVER = "textual.drivers.web_driver"
"""The module of the driver textual-serve names in TEXTUAL_DRIVER for the apps it starts."""


def _tty(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):  # closed or detached
        return False


def terminal_problem(stdin, stderr) -> str:
    """Why the app cannot draw with these streams, in one line; empty when it can (always
    under the web driver, which draws through the pipes it is given)."""
    if os.environ.get("TEXTUAL_DRIVER", "").split(":")[0] == WEB_DRIVER:
        return ""
    redirected = [name for name, stream in (("stdin", stdin), ("stderr", stderr)) if not _tty(stream)]
    if not redirected:
        return ""
    names = " and ".join(redirected)
    return (
        f"seal: the app needs a terminal, and {names} {'is' if len(redirected) == 1 else 'are'} not one "
        f"(it draws on stderr and reads keys from stdin): run seal without redirecting "
        f"{'it' if len(redirected) == 1 else 'them'}, or use `seal run` / `seal show` in scripts."
    )


def launch_app() -> int:
    problem = terminal_problem(sys.__stdin__, sys.__stderr__)
    if problem:  # stdout when stderr goes elsewhere: the one line shows where the person looks
        print(problem, file=sys.stderr if _tty(sys.__stderr__) else sys.stdout, flush=True)
        return 2
    from seal_tui.app import SealApp

    SealApp().run()
    return 0
