"""Operating-system and SQLite failures as one plain sentence each, for people.

`describe(exc)` names the path and the cause ("cannot write /x/seal.db: the disk is full");
it returns None for anything it does not know, so a caller falls back to str(exc).
`writing(path)` turns the errors of libraries that write files their own way (safetensors
raises SafetensorError on a full disk) into the OSError they carry, naming the path.
"""

from __future__ import annotations

import errno
import os
import re
import resource
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_CANNOT_WRITE = {
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "your disk quota is used up",
    errno.EFBIG: "the file would be larger than this system lets a file be (a file size limit: ulimit -f)",
}

_SQLITE = (  # (error name prefix, words in the message, sentence with {db})
    (
        "SQLITE_BUSY",
        "database is locked",
        "the session database{db} is busy (another seal process is writing); try again",
    ),
    (
        "SQLITE_LOCKED",
        "table is locked",
        "the session database{db} is busy (another seal process is writing); try again",
    ),
    (
        "SQLITE_CANTOPEN",
        "unable to open database",
        "cannot open the session database{db} (its folder is missing or not writable, or it is a folder)",
    ),
    ("SQLITE_READONLY", "readonly database", "the session database{db} is read-only for you; seal cannot write to it"),
    ("SQLITE_FULL", "database or disk is full", "cannot write the session database{db}: the disk is full"),
    (
        "SQLITE_IOERR",
        "disk i/o error",
        "cannot read or write the session database{db}: a disk I/O error (a full, removed or network disk?)",
    ),
    (
        "SQLITE_NOTADB",
        "file is not a database",
        "{file} is not an SQLite database (move it aside and seal starts a new one)",
    ),
    (
        "SQLITE_CORRUPT",
        "malformed",
        "the session database{db} is damaged (malformed); restore a backup or move it aside",
    ),
)


def describe(exc: BaseException, path: str | os.PathLike | None = None) -> str | None:
    """One line for an OSError or a known sqlite3.Error, else None.

    `path` names the database for SQLite errors, which do not carry it."""
    if isinstance(exc, OSError):
        return _os_sentence(exc)
    if isinstance(exc, sqlite3.Error):
        return _sqlite_sentence(exc, path)
    return None


def _os_sentence(exc: OSError) -> str:
    name = exc.filename
    where = "" if name is None else f" {name}" + ("" if exc.filename2 is None else f" -> {exc.filename2}")
    if exc.errno in _CANNOT_WRITE:
        return f"cannot write{where}: {_CANNOT_WRITE[exc.errno]}"
    if name is None:
        cause = exc.strerror or str(exc) or type(exc).__name__
        return cause[:1].lower() + cause[1:]
    if isinstance(exc, NotADirectoryError):
        blocker = _file_on_the_way(Path(name))
        return f"{blocker} is a file, not a folder" + ("" if str(blocker) == str(name) else f" (needed for {name})")
    if isinstance(exc, FileExistsError):
        if exc.strerror and exc.strerror.startswith("already exists"):  # seal's own, with what to do
            return f"{name} {exc.strerror}"
        return f"{name} is a file, not a folder" if os.path.isfile(name) else f"{name} already exists"
    if isinstance(exc, IsADirectoryError):
        return f"{name} is a folder, not a file"
    if isinstance(exc, FileNotFoundError):
        return f"no such file or folder:{where}"
    if isinstance(exc, PermissionError):
        if os.path.exists(name):
            return f"permission denied:{where} (you may not read or change it)"
        return f"permission denied:{where} (the folder {Path(name).parent} is read-only for you)"
    cause = exc.strerror or type(exc).__name__
    return f"cannot use{where}: {cause[:1].lower()}{cause[1:]}"


def _file_on_the_way(path: Path) -> Path:
    """The first part of path that exists and is not a folder (else path itself)."""
    for part in reversed(path.parents):
        if os.path.exists(part) and not os.path.isdir(part):  # os.path: never raises
            return part
    return path


def _sqlite_sentence(exc: sqlite3.Error, path: str | os.PathLike | None) -> str | None:
    code = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    cannot = code.startswith(("SQLITE_IOERR", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_READONLY"))
    if (cannot or any(w in text for w in ("disk i/o error", "unable to open", "readonly"))) and path is not None:
        if (state := disk_state(Path(path).parent)) is not None:  # SQLite often says only "I/O error"
            return f"cannot write the session database {path}: {state}"
    for prefix, words, sentence in _SQLITE:
        if code.startswith(prefix) or words in text:
            return sentence.format(db=f" {path}" if path else "", file=path or "the session database file")
    return None


FULL_BELOW = 64 << 10
"""Free bytes under which a disk counts as full (SQLite needs a few pages for any write)."""


def disk_state(folder: Path) -> str | None:
    """Why nothing can be written in `folder`'s file system, if that is so: read-only, full,
    or a file size limit on this process."""
    try:
        stat = os.statvfs(folder)
    except OSError:
        return None
    if resource.getrlimit(resource.RLIMIT_FSIZE)[0] != resource.RLIM_INFINITY:
        return _CANNOT_WRITE[errno.EFBIG]
    if stat.f_flag & os.ST_RDONLY:
        return _CANNOT_WRITE[errno.EROFS]
    if stat.f_bavail * stat.f_frsize < FULL_BELOW:
        return _CANNOT_WRITE[errno.ENOSPC]
    return None


_CARRIED = re.compile(r"\(os error (\d+)\)|Os \{ code: (\d+)")
"""How Rust libraries (safetensors, tokenizers) write the OS error under their own."""


def carried_errno(exc: BaseException) -> int | None:
    """The OS error number another library's exception carries in its message, if any."""
    found = _CARRIED.search(str(exc))
    return int(found[1] or found[2]) if found else None


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Run a library's write of `path`; an error of its own that carries an OS error (a full
    or read-only disk) comes out as that OSError, naming the path."""
    try:
        yield
    except OSError:
        raise
    except Exception as exc:
        number = carried_errno(exc)
        if number is None:
            raise
        raise OSError(number, os.strerror(number), str(path)) from exc
