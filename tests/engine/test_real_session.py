"""The whole loop on the real embedded model (llama.cpp + torch/peft), short settings."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from engine.config import EditorConfig, GenerationConfig, SessionConfig, TrainConfig
from engine.domain import Passage, Update
from engine.papers.ingest import read_paper
from engine.runtime.local import LocalRuntime
from engine.runtime.protocol import LoraShape
from engine.sessions.home import Home
from engine.sessions.session import Session
from engine.update_notes import kept_note
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow

SHORT = SessionConfig(
    accept="all",
    generation=GenerationConfig(candidates=2, max_tokens=64, seed=7),
    train=TrainConfig(),
)
EDITOR = replace(SHORT, editor=EditorConfig(min_pairs=1))
"""SHORT, whose editor may run a round on one kept self-edit (only on demand, as SHORT's)."""


@pytest.fixture(scope="module")
def runtime():
    rt = LocalRuntime(SHORT.model, LoraShape.of(SHORT.train))
    yield rt
    rt.close()


def copy_home(home: Path, to: Path) -> Path:
    """A copy of a session home whose sessions may be open: the database through SQLite's
    backup, the rest file by file (a lock file's copy holds no lock)."""
    db = ("seal.db", "seal.db-wal", "seal.db-shm")
    shutil.copytree(home, to, ignore=lambda folder, names: [n for n in names if n in db] if folder == str(home) else [])
    source, target = sqlite3.connect(home / "seal.db"), sqlite3.connect(to / "seal.db")
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return to


@dataclass
class Learned:
    """Session "real": the fixture paper's first two passages learned, each after its two
    candidates; the home as it stood after the first update; and the adapter that wrote
    self-edits right after the second."""

    session: Session
    first: Passage
    second: Passage
    updates: tuple[Update, Update]
    home_at_v1: Path
    writing: Path


@pytest.fixture(scope="module")
def learned(runtime, tmp_path_factory):
    """Made once for the module: the tests read it, and the editor's test works on a copy."""
    root = tmp_path_factory.mktemp("real")
    session = Home(root / "home").open("real", EDITOR, runtime)
    first, second = session.add_paper(read_paper(FIXTURES / "velmora.md")[0])[:2]
    u1 = session.step(first)
    at_v1 = copy_home(root / "home", root / "at-v1")
    u2 = session.step(second)
    yield Learned(session, first, second, (u1, u2), at_v1, Path(runtime.generator().adapters[0][0]))
    session.close()


def test_each_update_teaches_its_passage_and_later_updates_move_earlier_columns(learned):
    session, first, second, (u1, u2) = learned.session, learned.first, learned.second, learned.updates
    assert (u1.version, u2.version) == (1, 2)
    edits = session.self_edits(first.id)
    assert len(edits) == 2 and all(e.text for e in edits)
    # this fixture has no questions: recall probes are shown first, and each update must
    # lower its own passage's by a margin (one that barely trains moves them 0 to -0.2)
    m = session.matrix()
    assert m.family == "recall"
    for passage, update in ((first, u1), (second, u2)):
        own = m.cell(update.version, passage.id) - m.cell(update.version - 1, passage.id)
        assert own <= -0.5, f"v{update.version} lowered its passage's recall probes by {-own:.2f} nats only"
        assert m.drift[update.version] - m.drift[update.version - 1] <= 0.15
        assert update.params["kept_epoch"] == update.params["epochs"] or "over the drift guard" in kept_note(
            update.params
        )
    assert m.cell(2, first.id) != pytest.approx(m.cell(1, first.id), abs=1e-4), "a later update changes earlier columns"
    # generation now runs the latest version, exported to GGUF and switched in llama.cpp
    assert learned.writing == (session.adapter_for(2) / "adapter.gguf").resolve()
    for u in (u1, u2):
        assert (session.home / "real" / "adapters" / f"v{u.version:04d}" / "adapter_model.safetensors").is_file()
        assert sum(u.losses[-8:]) < sum(u.losses[:8])  # the loss falls over the update


def _accepted(db) -> list[int]:
    try:
        conn = sqlite3.connect(db, timeout=5)
        try:
            return [r[0] for r in conn.execute("select id from self_edits where status = 'accepted' order by id")]
        finally:
            conn.close()
    except sqlite3.Error:
        return []


def test_killed_run_resumes_with_nothing_accepted_lost(seal_home, fixtures):
    cmd = [
        sys.executable,
        "-m",
        "seal_cli.main",
        "run",
        str(fixtures / "velmora.md"),
        "--session",
        "k",
        "--edits",
        "1",
        "--max-tokens",
        "32",
        "--epochs",
        "1",
        "--passage-repeats",
        "2",
        "--accept",
        "all",
        "--seed",
        "3",
        "--json",
    ]
    env = {**os.environ, "SEAL_HOME": str(seal_home)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not _accepted(seal_home / "seal.db") and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"the run was not killed mid-way (exit {proc.returncode})"
    before = _accepted(seal_home / "seal.db")
    assert before, "the run was killed after accepting edits"

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert set(before) <= set(_accepted(seal_home / "seal.db"))
    assert len(summary["passages"]) == 3 and len(summary["updates"]) == 3
    assert summary["matrix"]["rows"] == ["base", "v1", "v2", "v3"]
    assert all(v is not None for v in summary["matrix"]["values"][-1])


def test_an_editor_round_learns_the_kept_edits_and_writes_beside_the_knowledge_adapter(runtime, learned, seal_home):
    from engine.learning.editor import kept_edits, training_pairs

    session = Home(copy_home(learned.home_at_v1, seal_home)).open("real", EDITOR, runtime)
    first = session.passages()[0]
    assert session.current_version == 1 and first.status == "learned"
    pairs = [pair for _, pair in training_pairs(session, kept_edits(session))]
    assert len(pairs) == 1 and pairs[0][0].startswith("<|im_start|>") and pairs[0][0].endswith("assistant\n")
    before = runtime.answer_nll(None, True, pairs)
    made = session.improve_editor()
    folder = session.resolve(made.adapter_path)
    after = runtime.answer_nll(folder, False, pairs)
    assert after[0] < before[0], "the editor makes the kept self-edit more likely given its prompt"
    assert made.losses[-1] < made.losses[0]
    applied = [Path(p) for p, _ in runtime.generator().adapters]
    assert applied == [(session.adapter_for(1) / "adapter.gguf").resolve(), (folder / "adapter.gguf").resolve()]
    new = session.generate(first, count=1)
    assert new[0].text and new[0].editor_round == 1
    # the knowledge adapter's weights come back for scoring after the editor trained in their slot
    from engine.scores.evaluate import probe_text

    items = [(probe_text(first.title, q.kind, q.question), q.answer) for q in first.probes]
    stored = {s.probe_id: s.answer_nll for s in session.scores(1)}
    rescored = runtime.answer_nll(session.adapter_for(1), False, items)
    assert rescored == pytest.approx([stored[q.id] for q in first.probes], abs=1e-4)


def test_a_fact_a_person_writes_into_a_card_teaches_its_held_out_question(runtime):
    """A person edits a card to state a held-out question's answer and accepts it: the update
    must lower that question's NLL clearly, and more than the passage alone does."""
    from importlib import resources

    sample = read_paper(str(resources.files("seal_tui") / "samples" / "velmora.md"))[0]
    one = replace(sample, passages=sample.passages[:1], sha256="first-passage")
    after = {}
    for name in ("fact", "alone"):
        session = Home().open(name, replace(SHORT, accept="none"), runtime)
        passage = session.add_paper(one)[0]
        probe = next(q for q in passage.probes if q.role == "heldout" and q.kind == "given")
        assert (probe.question, probe.answer) == ("Who founded the Velmora Observatory?", "Ilse Narrowgate")
        if name == "fact":
            edit = session.generate(passage, count=1)[0]
            session.decide(edit.id, False, "not this one")
            session.edit_text(edit.id, "The Velmora Observatory was founded by the astronomer Ilse Narrowgate.")
            session.decide(edit.id, True)
        else:
            session.store.set_passage_status(passage.id, "edits")  # no candidates: the passage alone
        session.step(passage)
        base = next(s.answer_nll for s in session.scores(0) if s.probe_id == probe.id)
        after[name] = next(s.answer_nll for s in session.scores(1) if s.probe_id == probe.id)
    assert after["fact"] <= base - 0.5, f"the stated fact moved its question {after['fact'] - base:+.2f} nats only"
    assert after["fact"] < after["alone"], "the person's line teaches beyond the passage itself"
