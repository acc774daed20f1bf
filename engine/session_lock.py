"""One writer per session, and one migrator per home, with advisory file locks (flock).

A session's writer holds an exclusive lock on <home>/<name>/.lock and writes its process id
and start time into it, so a second writer is told who holds it. The kernel drops the lock
when its process dies, however it dies: a dead holder's lock is simply free again, and the
next writer takes it over without guessing. Within one process a lock is shared (counted),
so the app may open a session it has just created.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = ".lock"


class SessionLocked(Exception):
    """Another live process writes this session."""

    def __init__(self, name: str, holder: Holder | None):
        self.name, self.holder = name, holder
        who = holder.describe() if holder else "another process"
        super().__init__(
            f"session {name!r} is open for writing in {who}; close it there, "
            "or open this one read-only (seal show, or the app, which offers it)"
        )


class ReadOnlySession(Exception):
    """A write was asked of a session opened read-only."""


@dataclass(frozen=True)
class Holder:
    pid: int
    since: str
    command: str

    def describe(self) -> str:
        if not self.pid:  # locked, but its name could not be read
            return "another seal process"
        when = self.since
        try:
            when = datetime.fromisoformat(self.since).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            pass
        return f"process {self.pid} ({self.command}) since {when}"


_held: dict[Path, list] = {}  # lock path -> [fd, count]
_guard = threading.Lock()


def _parse_holder(data: bytes) -> Holder | None:
    try:
        stamp = json.loads(data)
        return Holder(int(stamp["pid"]), str(stamp["since"]), str(stamp.get("command", "seal")))
    except (ValueError, KeyError, TypeError):
        return None


class WriterLock:
    """The writer lock of one session folder; acquire() raises SessionLocked when taken."""

    def __init__(self, folder: Path, name: str):
        self.path = Path(folder) / LOCK_FILE
        self.name = name
        self.held = False

    def acquire(self) -> None:
        if self.held:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = self.path.parent.resolve() / LOCK_FILE
        with _guard:
            if key in _held:
                _held[key][1] += 1
                self.held, self._key = True, key
                return
            fd = self._lock_file()
            stamp = {
                "pid": os.getpid(),
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": " ".join(Path(a).name for a in sys.argv[:2]) or "seal",
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(stamp).encode(), 0)
            _held[key] = [fd, 1]
            self.held, self._key = True, key

    def _lock_file(self) -> int:
        """A descriptor of the lock file, locked; the file is the one at self.path (a holder
        that was leaving may have removed the file we opened: then try again)."""
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:  # a leaving holder removed the empty folder: make it again
                self.path.parent.mkdir(parents=True, exist_ok=True)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise SessionLocked(self.name, self.holder()) from None
            try:
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)

    def release(self) -> None:
        if not self.held:
            return
        with _guard:
            entry = _held.get(self._key)
            if entry is not None:
                entry[1] -= 1
                if entry[1] == 0:
                    self.path.unlink(missing_ok=True)  # removed while held: see _lock_file
                    os.close(entry[0])  # closing the descriptor drops the flock
                    del _held[self._key]
                    try:
                        self.path.parent.rmdir()  # a session folder holding nothing else goes too
                    except OSError:
                        pass
        self.held = False

    def holder(self) -> Holder | None:
        """Who holds the lock now (None: nobody alive does). A writer leaving, another taking
        a new lock file, or one that has locked but not yet written its name is waited out
        (briefly) rather than misread."""
        deadline = time.monotonic() + HOLDER_WAIT_S
        while True:
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return None  # no lock file: no writer (one leaving has just removed it)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    locked = False
                except BlockingIOError:
                    locked = True
                if not _same_file(fd, self.path) and time.monotonic() < deadline:
                    continue  # the file was replaced meanwhile: ask the new one
                if not locked:
                    return None  # free: whatever the file says is from a dead process
                found = _parse_holder(_read_all(fd))
                if found is not None or time.monotonic() > deadline:
                    return found or Holder(0, "", "")
            finally:
                os.close(fd)
            time.sleep(0.01)  # locked, its name not yet written


HOLDER_WAIT_S = 2.0
"""How long holder() waits for a writer that has locked to write its name."""


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _read_all(fd: int) -> bytes:
    return os.pread(fd, 1 << 16, 0)


@contextmanager
def exclusive(path: Path):
    """Hold an exclusive lock on `path` (created if needed) for the block, waiting for it.
    Where the file cannot be made (a read-only home) there is no writer to keep apart."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
