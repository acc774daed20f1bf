"""Every failure is a sentence: a session home that cannot open, and OS/SQLite errors in general.

Tests run as root in CI, where chmod denies nothing, so the bad homes here fail for reasons
root meets too: a file where a folder should be, a folder where the database should be.
"""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.failures import describe
from seal_cli.main import main
from seal_tui.failure_text import failure_text

FIXTURES = Path(__file__).parent / "fixtures"


def bad_home(kind: str, tmp_path: Path) -> Path:
    (tmp_path / "file").write_text("not a folder")
    if kind == "a file":
        return tmp_path / "file"
    if kind == "under a file":
        return tmp_path / "file" / "sub" / "sessions"
    if kind == "database is a folder":
        (tmp_path / "h" / "seal.db").mkdir(parents=True)
        return tmp_path / "h"
    if kind == "database is not a database":
        (tmp_path / "h").mkdir()
        (tmp_path / "h" / "seal.db").write_bytes(b"this is not an SQLite file at all, just words" * 4)
        return tmp_path / "h"
    assert kind == "parent cannot be created"
    return Path("/proc/seal-test-missing/sessions")


KINDS = {
    "a file": "is a file, not a folder",
    "under a file": "is a file, not a folder (needed for",
    "database is a folder": "cannot open the session database",
    "database is not a database": "is not an SQLite database",
    "parent cannot be created": "no such file or folder: /proc/seal-test-missing",
}
COMMANDS = {
    "sessions": ["sessions"],
    "show": ["show", "demo"],
    "run": ["run", str(FIXTURES / "velmora.md"), "--session", "demo"],
    "bare": [],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_home_that_cannot_open_is_one_sentence(kind, command, tmp_path, monkeypatch, capsys):
    if kind == "parent cannot be created" and not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")
    monkeypatch.setenv("SEAL_HOME", str(bad_home(kind, tmp_path)))
    monkeypatch.setattr("seal_tui.launch.launch_app", lambda: pytest.fail("the app started on a broken home"))
    code = main(COMMANDS[command])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("seal: ") and err.count("\n") == 1
    assert KINDS[kind] in err and "Traceback" not in err


def test_the_real_command_prints_no_traceback(tmp_path):
    (tmp_path / "file").write_text("x")
    env = {"SEAL_HOME": str(tmp_path / "file" / "sub"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "seal_cli.main", "sessions"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[1],
        timeout=60,
    )
    assert done.returncode == 1
    assert (
        done.stderr == f"seal: {tmp_path / 'file'} is a file, not a folder (needed for {tmp_path / 'file' / 'sub'})\n"
    )


# --- the sentences -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc, sentence",
    [
        (OSError(errno.ENOSPC, "No space left on device", "/x/seal.db"), "cannot write /x/seal.db: the disk is full"),
        (OSError(errno.EROFS, "Read-only file system", "/x/a"), "cannot write /x/a: the file system is read-only"),
        (OSError(errno.EDQUOT, "Disk quota exceeded", "/x/a"), "cannot write /x/a: your disk quota is used up"),
        (OSError(errno.ENOSPC, "No space left on device"), "cannot write: the disk is full"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/x"), "/x is a folder, not a file"),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "/nope/a"), "no such file or folder: /nope/a"),
        (
            PermissionError(errno.EACCES, "Permission denied", "/nope/sessions"),
            "permission denied: /nope/sessions (the folder /nope is read-only for you)",
        ),
        (OSError(errno.ENAMETOOLONG, "File name too long", "/x/aaa"), "cannot use /x/aaa: file name too long"),
        (
            sqlite3.OperationalError("database is locked"),
            "the session database /h/seal.db is busy (another seal process is writing); try again",
        ),
        (
            sqlite3.OperationalError("attempt to write a readonly database"),
            "the session database /h/seal.db is read-only",
        ),
        (sqlite3.OperationalError("disk I/O error"), "cannot read or write the session database /h/seal.db"),
        (
            sqlite3.OperationalError("database or disk is full"),
            "cannot write the session database /h/seal.db: the disk is full",
        ),
        (sqlite3.DatabaseError("database disk image is malformed"), "the session database /h/seal.db is damaged"),
        (sqlite3.OperationalError("unable to open database file"), "cannot open the session database /h/seal.db"),
    ],
)
def test_os_and_sqlite_errors_become_one_sentence_naming_the_path(exc, sentence):
    text = describe(exc, "/h/seal.db")
    assert text.startswith(sentence) and "\n" not in text


def test_files_in_the_way_are_named(tmp_path):
    (tmp_path / "file").write_text("x")
    assert (
        describe(FileExistsError(errno.EEXIST, "File exists", str(tmp_path / "file")))
        == f"{tmp_path / 'file'} is a file, not a folder"
    )
    deep = tmp_path / "file" / "a" / "b"
    assert (
        describe(NotADirectoryError(errno.ENOTDIR, "Not a directory", str(deep)))
        == f"{tmp_path / 'file'} is a file, not a folder (needed for {deep})"
    )


def test_anything_else_is_left_to_the_caller():
    assert describe(ValueError("nope")) is None
    assert describe(sqlite3.OperationalError("no such table: x")) is None
    assert failure_text(ValueError("bad\nvalue")) == "bad value"
    assert failure_text(RuntimeError()) == "RuntimeError"
    assert failure_text(OSError(errno.ENOSPC, "No space left on device", "/x")) == "cannot write /x: the disk is full"
