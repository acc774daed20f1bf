"""Session names: one check for the CLI, the app and the store, made before anything loads.

A name becomes a folder in the session home, so it must be a safe, portable folder name:
letters, digits, '-', '_' and '.', starting with a letter or digit (never '.', '..' or a
hidden file), not a file seal keeps in the home, not a name Windows reserves. Names are
unique regardless of case (the store checks that), so a case-insensitive disk is safe too.
"""

from __future__ import annotations

import re

from engine.store.rows import StoreError

MAX_LENGTH = 64
_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SEAL_FILES = {"seal.db", "seal.db-wal", "seal.db-shm", "seal.db-journal"}
WINDOWS_NAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


class SessionNameError(StoreError):
    """A session name that cannot be used; the message says why and what is allowed."""


def check_session_name(name: object) -> str:
    """The name, if it may name a session; else SessionNameError."""
    if not isinstance(name, str) or not name:
        raise SessionNameError("a session needs a name")
    rule = f"use 1-{MAX_LENGTH} letters, digits, '-', '_' or '.', starting with a letter or digit"
    if len(name) > MAX_LENGTH:
        raise SessionNameError(f"session name is {len(name)} characters long; {rule}")
    if not _PATTERN.fullmatch(name):
        raise SessionNameError(f"invalid session name {name!r}: {rule}")
    if name.lower() in SEAL_FILES or name.lower().split(".")[0] in WINDOWS_NAMES:
        raise SessionNameError(f"{name!r} is a reserved name (a file seal or the system uses); pick another")
    return name
