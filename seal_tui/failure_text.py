"""What a person reads when work fails: engine.failures' sentence, else the error's own text."""

from __future__ import annotations

import os

from engine.failures import describe


def failure_text(exc: BaseException, path: str | os.PathLike | None = None) -> str:
    """One line for any failure; `path` names the session database for SQLite errors."""
    text = describe(exc, path) or str(exc) or type(exc).__name__
    return " ".join(text.split())
