"""seal deletes only what it wrote (engine.recovery, engine.atomic): a person's files beside
a session's adapters, beside a linked adapters folder, in a copied home, or beside an export
survive every open and every export; stored adapter paths are relative, so a copied home
reads and writes its own files (fast, on the fake runtime)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from engine.atomic import partial_of, publish
from engine.config import EditorConfig, GenerationConfig, SessionConfig, TrainConfig
from engine.papers.ingest import read_paper
from engine.sessions import export
from engine.sessions.home import Home
from engine.sessions.session import NoModel
from tools.scripted_runtime import FakeRuntime

FIXTURES = Path(__file__).parents[1] / "fixtures"
CONFIG = SessionConfig(
    accept="all",
    generation=GenerationConfig(candidates=1),
    train=TrainConfig(epochs=1),
    editor=EditorConfig(min_pairs=1),
)


def learned(home: Path, passages: int = 2) -> None:
    """A session 'demo' in `home` that has learned `passages` passages and run an editor round."""
    h = Home(home)
    session = h.open("demo", CONFIG, FakeRuntime())
    try:
        for passage in session.add_paper(read_paper(FIXTURES / "velmora.md")[0])[:passages]:
            session.step(passage)
        session.improve_editor()
    finally:
        session.close()
        h.close()


def reopen(home: Path, read_only: bool = False):
    """Open 'demo' as the next run would (recovery runs when it is opened for writing)."""
    h = Home(home)
    session = h.open("demo", runtime=NoModel("opening needs no model"), read_only=read_only)
    return h, session


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root (links not followed) and its content's hash."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in files + [d for d in dirs if (Path(folder) / d).is_symlink()]:
            path = Path(folder) / name
            data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            found[str(path.relative_to(root))] = hashlib.sha256(data).hexdigest()
    return found


def persons_files(folder: Path) -> dict[str, str]:
    """A person's own files in `folder`, some with names that look like seal's."""
    (folder / "mine").mkdir(parents=True, exist_ok=True)
    (folder / "mine" / "notes.txt").write_text("my notes")
    (folder / "v0099").mkdir(exist_ok=True)  # named as seal names an adapter, but no row of seal's
    (folder / "v0099" / "adapter_config.json").write_text("{}")
    (folder / "draft.partial").write_text("mine, whatever the name says")
    (folder / "v0001.bak.partial").mkdir(exist_ok=True)
    (folder / "v0001.bak.partial" / "keep.txt").write_text("kept")
    return snapshot(folder)


def test_a_persons_folders_beside_the_adapters_survive_every_open(tmp_path):
    learned(tmp_path / "home")
    session_folder = tmp_path / "home" / "demo"
    mine = {kind: persons_files(session_folder / kind) for kind in ("adapters", "editor")}
    (session_folder / "my-plan.partial").write_text("a person's file in the session folder")
    for _ in range(2):
        h, session = reopen(tmp_path / "home")
        session.close()
        h.close()
    for kind, files in mine.items():
        now = snapshot(session_folder / kind)
        assert {k: now.get(k) for k in files} == files, kind
    assert (session_folder / "my-plan.partial").read_text().startswith("a person's")


def test_a_persons_folder_beside_linked_adapters_survives(tmp_path):
    """Adapters moved to a bigger disk and linked back: the person's folders there, inside and
    beside the moved folder, survive the next open; the session still reads its adapters."""
    learned(tmp_path / "home")
    big = tmp_path / "big"
    big.mkdir()
    adapters = tmp_path / "home" / "demo" / "adapters"
    shutil.move(adapters, big / "adapters")
    adapters.symlink_to(big / "adapters", target_is_directory=True)
    inside = persons_files(big / "adapters")
    beside = persons_files(big)
    h, session = reopen(tmp_path / "home")
    try:
        assert session.adapter_for(2) is not None and session.adapter_for(2).is_dir()
        step_next(session)
    finally:
        session.close()
        h.close()
    now = snapshot(big)
    assert {k: now.get(k) for k in beside} == beside
    now_inside = snapshot(big / "adapters")
    assert {k: now_inside.get(k) for k in inside} == inside
    assert (big / "adapters" / "v0003").is_dir(), "the next update was saved through the link"


def step_next(session) -> None:
    """Learn the session's next passage with a model (the runtime swapped in)."""
    session.attach_runtime(FakeRuntime())
    passage = next(p for p in session.passages() if p.status != "learned")
    assert session.step(passage) is not None


def stored_paths(home: Path) -> list[str]:
    conn = sqlite3.connect(home / "seal.db")
    try:
        found = conn.execute("SELECT adapter_path FROM updates UNION ALL SELECT adapter_path FROM editor_rounds")
        return [row[0] for row in found]
    finally:
        conn.close()


def make_absolute(home: Path) -> None:
    """Store adapter paths as older sessions did: absolute."""
    conn = sqlite3.connect(home / "seal.db")
    prefix = str(home.absolute()) + "/"
    conn.execute("UPDATE updates SET adapter_path = ? || adapter_path", (prefix,))
    conn.execute("UPDATE editor_rounds SET adapter_path = ? || adapter_path", (prefix,))
    conn.commit()
    conn.close()


def test_a_copied_home_is_independent_of_its_original(tmp_path):
    """A copy of a home whose rows hold absolute paths (an older session) reads and keeps its
    own adapters, opened while the original exists; the original is not touched."""
    original, copy = tmp_path / "original", tmp_path / "copy"
    learned(original)
    make_absolute(original)
    shutil.copytree(original, copy)
    before = snapshot(original)
    h, looked = reopen(copy, read_only=True)
    assert looked.adapter_for(1) == copy / "demo" / "adapters" / "v0001", "read-only, the copy reads its own"
    h.close()
    h, session = reopen(copy)
    try:
        assert (copy / "demo" / "adapters" / "v0001").is_dir(), "opening the copy deleted its own v0001"
        assert session.adapter_for(1) == copy / "demo" / "adapters" / "v0001"
        assert all(not Path(p).is_absolute() for p in stored_paths(copy)), "absolute paths are rewritten"
        step_next(session)
    finally:
        session.close()
        h.close()
    assert snapshot(original) == before, "the original changed when its copy was used"
    shutil.rmtree(original)
    h, session = reopen(copy, read_only=True)
    try:
        assert all(session.adapter_for(u.version).is_dir() for u in session.updates())
        assert session.resolve(session.editor_rounds()[0].adapter_path).is_dir()
    finally:
        h.close()


def test_adapter_paths_are_stored_relative_even_when_the_session_folder_is_a_link(tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    learned(home, passages=1)
    elsewhere.mkdir()
    shutil.move(home / "demo", elsewhere / "demo")
    (home / "demo").symlink_to(elsewhere / "demo", target_is_directory=True)
    h, session = reopen(home)
    try:
        step_next(session)
    finally:
        session.close()
        h.close()
    assert stored_paths(home) == ["demo/adapters/v0001", "demo/adapters/v0002", "demo/editor/r001"]


# -- exports and replacements -----------------------------------------------------------------


def test_a_persons_partial_beside_an_export_survives(tmp_path):
    learned(tmp_path / "home", passages=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "peft.partial").mkdir()
    (out / "peft.partial" / "mine.txt").write_text("a person's folder")
    (out / "edits.jsonl.partial").write_text("a person's file")
    before = snapshot(out)
    h, session = reopen(tmp_path / "home", read_only=True)
    try:
        export.export_peft(session, 1, out / "peft")
        export.export_edits(session, 1, out / "edits.jsonl")
    finally:
        h.close()
    now = snapshot(out)
    assert {k: now.get(k) for k in before} == before
    assert (out / "peft" / "adapter_config.json").is_file() and (out / "edits.jsonl").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["edits.jsonl", "edits.jsonl.partial", "peft", "peft.partial"]


def test_publishing_never_removes_a_folder_that_holds_files(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "old.txt").write_text("the old folder")
    new = partial_of(target)
    new.mkdir()
    (new / "new.txt").write_text("new")
    with pytest.raises(FileExistsError):
        publish(new, target)
    assert (target / "old.txt").read_text() == "the old folder" and not (target / "new.txt").exists()
    assert not new.exists(), "the refused temporary folder is cleaned up"


def test_an_empty_folder_is_replaced_in_one_step(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    new = partial_of(target)
    new.mkdir()
    (new / "new.txt").write_text("new")
    publish(new, target)
    assert (target / "new.txt").read_text() == "new"


def test_temporary_names_are_private(tmp_path):
    target = tmp_path / "out"
    first, second = partial_of(target), partial_of(target)
    assert first != second and first.parent == tmp_path
    assert first.name.startswith(".out") and first.name != "out.partial"


def test_a_persons_folder_where_the_next_adapter_goes_is_never_replaced(tmp_path):
    from engine.failures import describe

    learned(tmp_path / "home")
    mine = tmp_path / "home" / "demo" / "adapters" / "v0003"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    h, session = reopen(tmp_path / "home")
    try:
        with pytest.raises(FileExistsError) as caught:
            step_next(session)
        assert describe(caught.value) == f"{mine} already exists, and seal did not save it (move it away)"
        assert (mine / "notes.txt").read_text() == "mine" and sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
        shutil.move(mine, tmp_path / "kept")
        step_next(session)
        assert (mine / "adapter_config.json").is_file()
    finally:
        session.close()
        h.close()
