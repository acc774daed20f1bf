"""Per-paper adapters on the scripted runtime: each paper its own chain, scored by its own."""

import pytest

from engine.config import ConfigError, GenerationConfig, SessionConfig, TrainConfig
from engine.domain import PaperDraft
from engine.learning.training_examples import repeat_passage
from engine.papers.ingest import read_paper
from engine.sessions.home import Home
from tools.scripted_runtime import FakeRuntime


def two_papers(session, fixtures):
    """Paper A: the sample's first two passages; paper B: its third. Returns (a0, a1, b0)."""
    parts = read_paper(fixtures / "velmora.md")[0].passages
    a0, a1 = session.add_paper(PaperDraft("A", "test", "sha-a", parts[:2]))
    [b0] = session.add_paper(PaperDraft("B", "test", "sha-b", parts[2:]))
    return a0, a1, b0


def open_session(adapters, runtime, replay=0.0):
    config = SessionConfig(
        accept="all",
        adapters=adapters,
        replay=replay,
        generation=GenerationConfig(candidates=1),
        train=TrainConfig(epochs=1),
    )
    return Home().open(adapters, config, runtime)


def test_per_paper_updates_start_from_their_own_papers_adapter(fixtures):
    runtime = FakeRuntime()
    session = open_session("per-paper", runtime)
    a0, a1, b0 = two_papers(session, fixtures)
    for passage in (a0, b0, a1):
        session.step(passage)
    assert runtime.starts == [None, None, session.adapter_for(1)]  # b0 from the base model, a1 from a0's v1
    assert [(u.version, u.parent_version) for u in session.updates()] == [(1, 0), (2, 0), (3, 1)]
    assert session.current_version == 3


def test_shared_updates_still_chain(fixtures):
    runtime = FakeRuntime()
    session = open_session("shared", runtime)
    a0, a1, b0 = two_papers(session, fixtures)
    for passage in (a0, b0, a1):
        session.step(passage)
    assert runtime.starts == [None, session.adapter_for(1), session.adapter_for(2)]
    assert [u.parent_version for u in session.updates()] == [0, 1, 2]


def test_another_papers_updates_leave_a_papers_cells_unchanged(fixtures):
    parts = read_paper(fixtures / "velmora.md")[0].passages
    matrices = {}
    for mode in ("shared", "per-paper"):
        session = open_session(mode, FakeRuntime())
        [a0] = session.add_paper(PaperDraft("A", "test", "sha-a", parts[:1]))
        session.add_paper(PaperDraft("B", "test", "sha-b", parts[1:]))
        session.run()
        matrices[mode] = (session.matrix(), a0.id)
    m, a0 = matrices["per-paper"]
    assert m.cell(1, a0) < m.cell(0, a0)  # learned
    assert m.cell(3, a0) == m.cell(2, a0) == m.cell(1, a0)  # paper B's v2 and v3 leave it where v1 put it
    m, a0 = matrices["shared"]
    assert m.cell(3, a0) > m.cell(2, a0) > m.cell(1, a0)  # one shared adapter: each update moves it


def test_per_paper_replay_and_generation_stay_within_the_paper(fixtures):
    runtime = FakeRuntime()
    session = open_session("per-paper", runtime, replay=1.0)
    a0, a1, b0 = two_papers(session, fixtures)
    session.step(a0)
    session.generate(b0)
    assert runtime.active == [None]  # paper B has no update yet: the base model writes
    session.step(b0)
    session.generate(a1)
    assert runtime.active == [session.adapter_for(1)]  # paper A's adapter writes for paper A
    session.step(a1)
    repeats = session.config.train.passage_repeats
    assert runtime.trained[1] == repeat_passage(session.examples_for(b0), repeats)  # nothing of paper A replayed
    replayed = runtime.trained[2][len(repeat_passage(session.examples_for(a1), repeats)) :]
    assert replayed and set(replayed) <= set(session.examples_for(a0))


def test_per_paper_rollback_abandons_later_versions_only(fixtures):
    runtime = FakeRuntime()
    session = open_session("per-paper", runtime)
    a0, a1, b0 = two_papers(session, fixtures)
    for passage in (a0, b0, a1):
        session.step(passage)
    session.rollback(2)
    assert [(u.version, u.status) for u in session.updates()] == [(1, "active"), (2, "active"), (3, "abandoned")]
    assert [p.status for p in session.passages()] == ["learned", "edits", "learned"]
    [made] = session.run()
    assert (made.version, made.parent_version) == (4, 1)
    session.rollback(0)
    assert {u.status for u in session.updates()} == {"abandoned"}


def test_adapters_setting_is_checked_stored_and_fixed_once_learning_started(fixtures):
    with pytest.raises(ConfigError, match="adapters must be one of shared, per-paper, got 'per-topic'"):
        SessionConfig(adapters="per-topic")
    older = SessionConfig().to_dict()
    del older["adapters"]
    assert SessionConfig.from_dict(older).adapters == "shared"
    session = open_session("per-paper", FakeRuntime())
    assert Home().open("per-paper").config.adapters == "per-paper"
    a0, _, _ = two_papers(session, fixtures)
    session.step(a0)
    with pytest.raises(ConfigError, match="adapters cannot change once a session has updates"):
        Home().config_for("per-paper", {"adapters": "shared"})
