"""Files and folders that appear whole or not at all, and stay after a power cut.

Everything is written under a temporary name beside its target (NAME.partial), flushed to
disk (fsync of each file and of the folders), then renamed into place in one step. A
process killed before the rename leaves only a .partial: engine.recovery removes those in a
session's folder when the session next opens for writing; one beside an export outside it
stays until that export is written again (partial_of empties it first).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from engine.faults import crash_point

PARTIAL = ".partial"


def partial_of(target: Path) -> Path:
    """The temporary name of `target` (emptied if a killed run left one)."""
    tmp = Path(target).with_name(Path(target).name + PARTIAL)
    if tmp.is_dir():
        shutil.rmtree(tmp)
    elif tmp.exists():
        tmp.unlink()
    return tmp


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


def publish(tmp: Path, target: Path, point: str = "") -> Path:
    """Move a finished temporary file or folder onto `target`, durably; an existing target
    is replaced. `point` names the crash point between writing and renaming."""
    tmp, target = Path(tmp), Path(target)
    sync_tree(tmp)
    if point:
        crash_point(point)
    if target.is_dir() and tmp.is_dir():
        shutil.rmtree(target)
    os.replace(tmp, target)
    _fsync(target.parent)
    return target


def write_text(target: Path, text: str, point: str = "") -> Path:
    tmp = partial_of(target)
    tmp.write_text(text, encoding="utf-8")
    return publish(tmp, target, point)
