"""Put a session's folder back in order after a killed process, before anyone writes to it,
deleting only what seal wrote.

What a kill can leave behind, given how seal writes (engine.atomic, one transaction per step):
- a temporary file or folder under seal's private name (engine.atomic.TEMP), whose process
  is gone;
- an adapter folder saved for a row that was never committed. Before saving one, the session
  writes a save mark beside it (`.NAME.seal-saving`, naming the session folder and the
  process); the mark goes once the row is committed. A mark whose process is gone and whose
  folder no row names is a kill's leftover: the folder and the mark are removed.
Nothing else is ever removed: a person's folders and files beside the adapters, whatever
their names, stay (so do `.partial` leftovers of seal versions before private names), and
no link inside the session's folders is followed or removed.

Opening for writing also rewrites adapter paths that older sessions stored absolute as paths
relative to the home, so a copied home reads and writes its own adapters (Session.resolve).
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from engine.atomic import alive, is_leftover, owner, remove

KINDS = ("adapters", "editor")
"""The session sub-folders that hold one folder per update or editor round."""
MARK = ".seal-saving"


def mark_of(folder: Path) -> Path:
    return Path(folder).with_name(f".{Path(folder).name}{MARK}")


def saving(folder: Path) -> Path:
    """Mark `folder` as being saved for a row not yet committed; returns it. Something already
    there that seal did not save is refused (FileExistsError names it), never replaced."""
    folder, mark = Path(folder), mark_of(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    if mark.exists() and _stale(mark, folder.parent.parent, this_process=True):
        _forget(folder, mark)  # an earlier save of this folder that died or failed: its folder goes too
    if os.path.lexists(folder) or os.path.lexists(mark):
        raise FileExistsError(errno.EEXIST, "already exists, and seal did not save it (move it away)", str(folder))
    stamp = json.dumps({"session": str(folder.parent.parent.absolute()), "owner": owner()})
    mark.write_text(stamp, encoding="utf-8")
    return folder


def saved(folder: Path) -> None:
    """The folder's row is committed: the mark goes."""
    mark_of(folder).unlink(missing_ok=True)


def recover(session) -> list[Path]:
    """Rewrite the session's absolute adapter paths and remove what a killed process left in
    its folder (a Session opened for writing, under its writer lock). Returns what was removed."""
    relocate(session)
    folder = session.home / session.name
    named = {session.resolve(u.adapter_path) for u in session.updates()}
    named |= {session.resolve(r.adapter_path) for r in session.editor_rounds()}
    removed: list[Path] = []
    places = [folder] + [folder / kind for kind in KINDS]
    for place in places:
        for entry in _entries(place):
            path = Path(entry.path)
            if is_leftover(path):
                remove(path)
                removed.append(path)
            elif place != folder and entry.name.endswith(MARK) and entry.is_file(follow_symlinks=False):
                removed += _settle(path, place / entry.name[1 : -len(MARK)], folder, named)
    for adapter in named:  # a GGUF conversion killed inside an adapter folder
        for entry in _entries(adapter):
            if is_leftover(Path(entry.path)):
                remove(Path(entry.path))
                removed.append(Path(entry.path))
    return removed


def _entries(place: Path) -> list[os.DirEntry]:
    """A folder's entries, never through a link inside it (the folder itself may be one)."""
    try:
        return list(os.scandir(place))
    except OSError:
        return []


def _stale(mark: Path, session_folder: Path, this_process: bool = False) -> bool:
    """Whether a save mark is this session's (a copy sharing a linked folder leaves the
    other's alone) and its process is gone (or, with this_process, is this one)."""
    try:
        stamp = json.loads(mark.read_text(encoding="utf-8"))
        session, by = str(stamp["session"]), str(stamp["owner"])
    except (OSError, ValueError, KeyError, TypeError):
        session, by = str(session_folder.absolute()), ""  # a mark cut short by the kill
    ours = session == str(session_folder.absolute()) or not Path(session).exists()  # or its home moved
    return ours and (not by or (this_process and by == owner()) or not alive(by))


def _settle(mark: Path, folder: Path, session_folder: Path, named: set[Path]) -> list[Path]:
    """A save mark found at recovery: a stale one's folder goes unless a row names it."""
    if not _stale(mark, session_folder):
        return []
    if folder in named:
        mark.unlink(missing_ok=True)
        return [mark]
    return _forget(folder, mark)


def _forget(folder: Path, mark: Path) -> list[Path]:
    gone = [mark]
    if folder.is_dir() and not folder.is_symlink():
        remove(folder)
        gone.insert(0, folder)
    mark.unlink(missing_ok=True)
    return gone


def relocate(session) -> None:
    """Store every absolute adapter path of the session relative to the home where its folder
    is in this home (older sessions stored them absolute, so a copy read the original's)."""
    updates = {u.id: p for u in session.updates() if (p := _in_home(session, u.adapter_path))}
    rounds = {r.id: p for r in session.editor_rounds() if (p := _in_home(session, r.adapter_path))}
    if updates or rounds:
        session.store.set_adapter_paths(updates, rounds)


def _in_home(session, stored: str) -> str | None:
    """The relative path of an absolute stored path's folder in this home, if it is there."""
    if not Path(stored).is_absolute():
        return None
    for kind in KINDS:
        marker = f"/{session.name}/{kind}/"
        if marker in stored:
            relative = f"{session.name}/{kind}/{stored.rsplit(marker, 1)[1]}"
            return relative if (session.home / relative).exists() else None
    return None
