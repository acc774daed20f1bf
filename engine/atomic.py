"""Files and folders that appear whole or not at all, and stay after a power cut.

Everything is written under a private temporary name beside its target, flushed to disk
(fsync of each file and of the folders), then renamed into place in one step. The temporary
name is seal's alone (`.NAME~OWNER.seal-tmp`, OWNER naming the writing process), so a
person's own `NAME.partial` or anything else beside a target is never taken for seal's.
A process killed before the rename leaves its temporary file: engine.recovery removes those
in a session's folder when it next opens for writing, and partial_of removes one beside any
other target (an export) when that target is written again, once its process is gone.

Publishing never removes what is in the way: a file that exists stays, a folder holding
anything stays (FileExistsError names it); an empty folder is replaced in the same rename.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
from pathlib import Path

from engine.faults import crash_point

TEMP = ".seal-tmp"
"""The suffix of seal's temporary names."""
_TEMP_NAME = re.compile(r"^\.(?P<target>.+)~(?P<owner>\d+-\d+)-[0-9a-f]{8}" + re.escape(TEMP) + "$")


def _started(pid: int) -> int:
    """When a process started, in clock ticks since boot (Linux /proc; 0 elsewhere), so a
    process id the system has given again is not taken for the one that wrote a file."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def owner() -> str:
    """This process, as seal's temporary names and save marks record it: PID-START."""
    return f"{os.getpid()}-{_started(os.getpid())}"


def alive(recorded: str) -> bool:
    """Whether the process an owner string names is still running (this one is)."""
    try:
        pid, start = (int(x) for x in recorded.split("-"))
    except ValueError:
        return False
    if pid == os.getpid():
        return start == _started(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: running
    return start == 0 or _started(pid) in (0, start)


def temp_target(name: str) -> tuple[str, str] | None:
    """(the target's name, the owner) of one of seal's temporary names; None for any other name."""
    found = _TEMP_NAME.match(name)
    return (found["target"], found["owner"]) if found else None


def is_leftover(path: Path) -> bool:
    """A temporary file or folder of seal's whose process is gone (never a link)."""
    made = temp_target(path.name)
    return made is not None and not path.is_symlink() and not alive(made[1])


def remove(path: Path) -> None:
    """Remove a file or folder of seal's; a link is removed itself, never followed."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def partial_of(target: Path) -> Path:
    """A fresh private temporary name beside `target`; a killed run's leftover for the same
    target (its process gone) is removed first."""
    target = Path(target)
    try:
        beside = list(os.scandir(target.parent))
    except OSError:
        beside = []  # no folder yet: the caller's write names the problem
    for entry in beside:
        made = temp_target(entry.name)
        if made is not None and made[0] == target.name and is_leftover(Path(entry.path)):
            remove(Path(entry.path))
    return target.with_name(f".{target.name}~{owner()}-{secrets.token_hex(4)}{TEMP}")


def discard_own(target: Path) -> None:
    """Remove this process's temporary files for `target` (a write that failed)."""
    target = Path(target)
    try:
        beside = list(os.scandir(target.parent))
    except OSError:
        return
    for entry in beside:
        made = temp_target(entry.name)
        if made is not None and made == (target.name, owner()) and not entry.is_symlink():
            remove(Path(entry.path))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_tree(path: Path) -> None:
    """fsync a file, or every file in a folder and the folders themselves."""
    if path.is_dir():
        for root, _dirs, files in os.walk(path):
            for name in files:
                _fsync(Path(root) / name)
            _fsync(Path(root))
    else:
        _fsync(path)


def publish(tmp: Path, target: Path, point: str = "", replace: bool = False) -> Path:
    """Move a finished temporary file or folder onto `target`, durably. `point` names the
    crash point between writing and renaming. Nothing in the way is removed: an existing file
    stays unless `replace` (a file only, swapped in one step), a folder holding anything
    always stays; then the temporary one is removed and FileExistsError names the target."""
    tmp, target = Path(tmp), Path(target)
    sync_tree(tmp)
    if point:
        crash_point(point)
    try:
        if tmp.is_dir():
            os.rename(tmp, target)  # onto an empty folder it replaces it; onto anything else it fails
        elif replace:
            os.replace(tmp, target)
        else:
            _link_into_place(tmp, target)
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
            raise
        remove(tmp)
        raise FileExistsError(errno.EEXIST, "already exists", str(target)) from None
    _fsync(target.parent)
    return target


def _link_into_place(tmp: Path, target: Path) -> None:
    """Rename a file onto a name that must not exist yet (a hard link fails if it does)."""
    try:
        os.link(tmp, target)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):  # no hard links on this file system
            raise
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "already exists", str(target)) from None
        os.rename(tmp, target)
        return
    tmp.unlink()


def write_text(target: Path, text: str, point: str = "", replace: bool = False) -> Path:
    tmp = partial_of(target)
    tmp.write_text(text, encoding="utf-8")
    return publish(tmp, target, point, replace)


def copy_file(source: Path, target: Path, replace: bool = False) -> Path:
    """Copy a file whole onto `target`."""
    tmp = partial_of(target)
    shutil.copyfile(source, tmp)
    return publish(tmp, target, replace=replace)
