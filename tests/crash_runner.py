"""Session work to kill at a crash point (engine.faults), and the check that follows a resume.

Run as `python -m tests.crash_runner VARIANT` with SEAL_HOME set, and SEAL_CRASH_AT to be
killed there; run again without SEAL_CRASH_AT, it resumes the same work to the end. On
tools.scripted_runtime.FakeRuntime it opens session "s", adds tests/fixtures/velmora.md, learns every
passage (editor rounds after each, then one on demand) and exports the current version:

  all      accept=all decides every candidate
  person   a person rejects each passage's first candidate before the passage is stepped

`check_home` is what the tests assert after the resume: the session as the engine promises
to leave it whatever the kill. The real-model test reuses it on a `seal run` session.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "tests" / "fixtures" / "velmora.md"
NAME = "s"
VARIANTS = ("all", "person")
FAKE_FILES = ("adapter_config.json", "fake_history.json")
PEFT_FILES = ("adapter_config.json", "adapter_model.safetensors")


def work(variant: str) -> None:
    """The session work, from wherever a killed run left it; each part runs once."""
    from engine.config import EditorConfig, GenerationConfig, SessionConfig, TrainConfig
    from engine.papers.ingest import read_paper
    from engine.sessions.export import export_edits, export_peft
    from engine.sessions.home import Home
    from tools.scripted_runtime import FakeRuntime

    config = SessionConfig(
        accept="all",
        generation=GenerationConfig(candidates=2),
        train=TrainConfig(epochs=1),
        editor=EditorConfig(min_pairs=1, every=1),
    )
    home = Home()
    session = home.open(NAME, config, FakeRuntime())
    try:
        session.add_paper(read_paper(PAPER)[0])
        if variant == "person":
            for passage in session.passages():
                if passage.status == "learned":
                    continue
                if passage.status == "new":
                    session.generate(passage)
                edits = session.self_edits(passage.id)
                if not any(e.decided_by == "person" for e in edits):
                    session.decide(edits[0].id, False, "not this one")
                session.step(passage)
        session.run()
        if not any(r.trigger == "person" for r in session.editor_rounds()):
            session.improve_editor()
        out = home.path / "exports"
        out.mkdir(exist_ok=True)
        version = session.current_version
        if not (out / "edits.jsonl").exists():
            export_edits(session, version, out / "edits.jsonl")
        if not (out / "peft").exists():
            export_peft(session, version, out / "peft")
        if not (out / "peft-v1").exists():
            export_peft(session, 1, out / "peft-v1")
    finally:
        session.close()
        home.close()


def run(
    args: list[str], home: Path, crash_at: str | None = None, timeout: float = 120, cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    """Run `python ARGS` with SEAL_HOME=home (and SEAL_CRASH_AT=crash_at)."""
    env = {k: v for k, v in os.environ.items() if k != "SEAL_CRASH_AT"}
    env["SEAL_HOME"] = str(home)
    if crash_at:
        env["SEAL_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def decisions_in(db: Path) -> dict[int, tuple[str, str]]:
    """edit id -> (status, decided_by) of every decided self-edit, read without writing."""
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        found = conn.execute("SELECT id, status, decided_by FROM self_edits WHERE status != 'pending'")
        return {r[0]: (r[1], r[2]) for r in found}
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # killed before the schema was made
            return {}
        raise
    finally:
        conn.close()


def editor_rounds(home: Path) -> list[tuple[str, int]]:
    """(trigger, passages learned by then) of each editor round, in order."""
    conn = sqlite3.connect(f"file:{home / 'seal.db'}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in conn.execute("SELECT trigger, learned_passages FROM editor_rounds ORDER BY number")]
    finally:
        conn.close()


def person_decisions(home: Path) -> dict[int, tuple[str, str]]:
    """What the runner's person decides (variant person): each passage's first candidate rejected."""
    conn = sqlite3.connect(f"file:{home / 'seal.db'}?mode=ro", uri=True)
    try:
        firsts = conn.execute("SELECT MIN(id) FROM self_edits GROUP BY passage_id").fetchall()
    finally:
        conn.close()
    return {r[0]: ("rejected", "person") for r in firsts}


def check_home(
    home: Path, name: str, decided: dict[int, tuple[str, str]], files: tuple[str, ...] = FAKE_FILES
) -> list[str]:
    """What is wrong with a session after a resumed run (empty: nothing)."""
    from engine.sessions.home import Home

    problems = []
    conn = sqlite3.connect(home / "seal.db")
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity}")
    h = Home(home)
    try:
        session = h.open(name, read_only=True)
        problems += _check_session(session, decided, files)
    finally:
        h.close()
    problems += [f"left behind: {p.relative_to(home)}" for p in seal_leftovers(home)]
    return problems


def seal_leftovers(root: Path) -> list[Path]:
    """seal's temporary files and save marks under root (engine.atomic, engine.recovery)."""
    from engine.atomic import temp_target
    from engine.recovery import MARK

    return sorted(p for p in root.rglob("*") if temp_target(p.name) or p.name.endswith(MARK))


def _check_session(session, decided: dict[int, tuple[str, str]], files: tuple[str, ...]) -> list[str]:
    from engine.learning.drift import PARTS as DRIFT_PARTS

    problems = []
    updates, rounds, passages = session.updates(), session.editor_rounds(), session.passages()
    by_version = {u.version: u for u in updates}
    for what, path in [(f"v{u.version}", u.adapter_path) for u in updates] + [
        (f"editor round {r.number}", r.adapter_path) for r in rounds
    ]:
        folder = session.resolve(path)
        missing = [f for f in files if not (folder / f).is_file()]
        if missing:
            problems.append(f"{what}: {folder} lacks {', '.join(missing)}")
    problems += leftovers(session)
    current = session.current_version
    if current != 0 and (current not in by_version or by_version[current].status != "active"):
        problems.append(f"current version {current} is not an active update")
    elif current != 0 and any(by_version[v].status != "active" for v in session.path_to(current)):
        problems.append(f"the path to current version {current} holds abandoned updates")
    if [u.version for u in updates] != list(range(1, len(updates) + 1)):
        problems.append(f"versions {[u.version for u in updates]} are not 1..n")
    learned = [u.passage_id for u in updates]
    if sorted(learned) != sorted(p.id for p in passages):
        problems.append(f"updates learned passages {learned}, the session has {[p.id for p in passages]}")
    problems += [f"passage {p.id} is {p.status!r}, not learned" for p in passages if p.status != "learned"]
    drift = session.store.drift(session.info.id)
    for version in [0] + [u.version for u in updates]:
        if set(drift.get(version, {})) != set(DRIFT_PARTS):
            problems.append(f"v{version} has drift scores {sorted(drift.get(version, {}))}, not {list(DRIFT_PARTS)}")
    if passages:
        matrix = session.matrix()
        row = [matrix.cell(matrix.rows[-1], p.id) for p in passages]
        if None in row:
            problems.append(f"final matrix row v{matrix.rows[-1]} is incomplete: {row}")
    edits = {e.id: e for p in passages for e in session.self_edits(p.id)}
    for edit_id, (status, by) in sorted(decided.items()):
        now = edits.get(edit_id)
        if now is None or (now.status, now.decided_by) != (status, by):
            was = "gone" if now is None else f"{now.status} by {now.decided_by}"
            problems.append(f"self-edit {edit_id} was {status} by {by} at the kill, is {was} after the resume")
    for u in updates:
        accepted = {e.id for e in edits.values() if e.passage_id == u.passage_id and e.status == "accepted"}
        if set(u.params.get("edit_ids", [])) != accepted:
            problems.append(
                f"v{u.version} trained edits {u.params.get('edit_ids')}, passage "
                f"{u.passage_id} has accepted {sorted(accepted)}"
            )
    if "fake_history.json" in files:
        problems += _check_fake_chain(session, updates, passages)
    return problems


def leftovers(session) -> list[str]:
    """What recovery (engine.recovery, run when a session opens for writing) should have
    removed from the session's folder: seal's temporary files and save marks, and so every
    adapter folder no row names (no one else puts folders in the runner's session)."""
    kept = {session.resolve(u.adapter_path) for u in session.updates()}
    kept |= {session.resolve(r.adapter_path) for r in session.editor_rounds()}
    folder = session.home / session.name
    problems = [f"left behind: {p.relative_to(session.home)}" for p in seal_leftovers(folder)]
    for kind in ("adapters", "editor"):
        for path in sorted((folder / kind).iterdir()) if (folder / kind).is_dir() else []:
            if path not in kept:
                problems.append(f"{kind}/{path.name} on disk with no row")
    return problems


def check_reopened(home: Path, name: str = NAME) -> list[str]:
    """Open a killed session for writing, as the next run will, and say what recovery left.
    Nothing to open (killed before the session was made): nothing left."""
    from engine.sessions.home import Home
    from engine.sessions.session import NoModel

    db = home / "seal.db"
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            made = conn.execute("SELECT 1 FROM sessions WHERE name = ?", (name,)).fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:  # no file, or no schema yet
        return []
    if made is None:
        return []
    h = Home(home)
    try:
        session = h.open(name, runtime=NoModel("recovery needs no model"))
        try:
            return leftovers(session)
        finally:
            session.close()
    finally:
        h.close()


def _check_fake_chain(session, updates, passages) -> list[str]:
    """FakeRuntime's adapter is its training history: each version's must be its parent's
    plus one update that ends with its own passage."""
    problems = []
    text = {p.id: f"{p.title}\n{p.text}" for p in passages}

    def history(version: int) -> list:
        if version == 0:
            return []
        folder = session.adapter_for(version)
        return json.loads((folder / "fake_history.json").read_text()) if folder and folder.is_dir() else []

    for u in updates:
        mine, parent = history(u.version), history(u.parent_version or 0)
        if mine[:-1] != parent or not mine or mine[-1][-1] != text[u.passage_id]:
            problems.append(f"v{u.version}: its adapter is not v{u.parent_version}'s plus passage {u.passage_id}")
    return problems


def check_exports(home: Path, name: str = NAME) -> list[str]:
    """The runner's exports: the edits each update on the current path trained, and the
    current and first versions' adapters, each whole."""
    from engine.sessions.home import Home

    out, problems = home / "exports", []
    h = Home(home)
    try:
        session = h.open(name, read_only=True)
        path = session.path_to(session.current_version)
        trained = sum(len(u.params["edit_ids"]) for u in session.updates() if u.version in path)
        lines = (out / "edits.jsonl").read_text().splitlines() if (out / "edits.jsonl").is_file() else None
        if lines is None or len(lines) != trained or not all(json.loads(line)["messages"] for line in lines):
            problems.append(f"exports/edits.jsonl: {lines and len(lines)} lines, the path trained {trained} edits")
        for folder, version in (("peft", session.current_version), ("peft-v1", 1)):
            adapter = session.adapter_for(version)
            assert adapter is not None, f"v{version} has no adapter"
            for f in FAKE_FILES:
                got = out / folder / f
                if not got.is_file() or got.read_bytes() != (adapter / f).read_bytes():
                    problems.append(f"exports/{folder}/{f} is not v{version}'s")
    finally:
        h.close()
    return problems


if __name__ == "__main__":
    variant = sys.argv[1] if len(sys.argv) > 1 else "all"
    if variant not in VARIANTS:
        sys.exit(f"variant must be one of {', '.join(VARIANTS)}")
    work(variant)
