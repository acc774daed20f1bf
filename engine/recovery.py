"""Put a session's folder back in order after a killed process, before anyone writes to it.

What a kill can leave behind, given how seal writes (engine.atomic, one transaction per
step): a `.partial` file or folder, and an adapter folder saved whose row was never
committed. Both are removed: nothing in the database refers to them, and the step that made
them runs again. A row is committed only after its adapter is on disk, so no row lacks one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.atomic import PARTIAL

KINDS = ("adapters", "editor")
"""The session sub-folders that hold one folder per update or editor round."""


def recover(folder: Path, referenced: set[Path]) -> list[Path]:
    """Remove leftovers under a session folder; `referenced`: every adapter folder a row
    names. Returns what was removed."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in sorted(folder.rglob(f"*{PARTIAL}"), reverse=True):
        _remove(path)
        removed.append(path)
    known = {p.resolve() for p in referenced}
    for kind in KINDS:
        for path in sorted((folder / kind).glob("*")) if (folder / kind).is_dir() else []:
            if path.is_dir() and path.resolve() not in known:
                _remove(path)
                removed.append(path)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
