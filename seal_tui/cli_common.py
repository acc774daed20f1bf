"""What the `seal` command modules share (cli.py, editor_cli.py, bench.py): the errors that
end a command and the checks several commands make. It imports none of them, so they import
it and never each other.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager


class UsageError(Exception):
    """A command line that cannot run as given: `seal: error: ...` on stderr, exit status 2."""


class Interrupted(Exception):
    """Ctrl+C ended a command; the message says what was kept. Exit status 130."""


def require_session(home, name: str) -> None:
    """UsageError unless the session home has a session of this name."""
    if not home.exists(name):
        raise UsageError(f"no session named {name!r} (see `seal sessions`)")


@contextmanager
def model_work(runtime, interrupted: str):
    """A progress display on stderr that starts by loading the model; yields (report, stop)
    for the engine's work. Ctrl+C sets stop and ends the command as Interrupted(interrupted)."""
    from engine.events import ModelLoading
    from seal_tui.progress import ProgressReporter

    stop = threading.Event()
    try:
        with ProgressReporter() as report:
            report(ModelLoading(runtime.name))
            runtime.load()
            yield report, stop
    except KeyboardInterrupt:
        stop.set()
        raise Interrupted(interrupted) from None
