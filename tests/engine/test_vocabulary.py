"""One vocabulary per concept: an accept policy or a heatmap metric declared in one place
(here, from this file alone) reaches the session loop, the matrix, the config checks and the
command line; settings go one typed way, and older stored settings read as they did."""

import json
import math

import pytest

from engine import events as ev
from engine.config import ConfigError, GenerationConfig, SessionConfig, TrainConfig
from engine.learning.reward_filter import FilterVerdict, Trial, verdicts
from engine.learning.training_examples import repeat_passage
from engine.papers.ingest import read_paper
from engine.scores.evaluate import summarize
from engine.scores.metrics import METRICS, Metric, of_answer
from engine.selfedits.policies import POLICIES, Decision, Policy
from engine.sessions.home import Home
from tools.scripted_runtime import FakeRuntime

FIRST = Policy(
    "first",
    "accept only the first candidate",
    lambda pending: {
        e.id: Decision(i == 0, "policy", "the first" if i == 0 else "not the first")
        for i, e in enumerate(pending.edits)
    },
)
ANSWER_LENGTH = Metric(
    "answer_length",
    "answer length",
    "words in the greedy answer",
    False,
    of_answer(lambda answer, gold: float(len(answer.split()))),
    needs_answer=True,
)


@pytest.fixture
def declared():
    """The test's own policy and metric, declared for the test only."""
    POLICIES.register(FIRST)
    METRICS.register(ANSWER_LENGTH)
    yield
    POLICIES.unregister(FIRST.name)
    METRICS.unregister(ANSWER_LENGTH.name)


def open_session(name="demo", **overrides):
    config = SessionConfig(generation=GenerationConfig(candidates=3), train=TrainConfig(epochs=1), **overrides)
    return Home().open(name, config, FakeRuntime())


def test_a_policy_declared_once_decides_a_session(declared, fixtures):
    session = open_session(accept="first")
    session.add_paper(read_paper(fixtures / "velmora.md")[0])
    seen = []
    session.run(seen.append)
    for passage in session.passages():
        edits = session.self_edits(passage.id)
        assert [e.status for e in edits] == ["accepted", "rejected", "rejected"]
        assert {e.decided_by for e in edits} == {"policy"} and edits[0].reason == "the first"
    decided = [e for e in seen if isinstance(e, ev.GateDecision)]
    assert [e.accepted for e in decided] == [True, False, False] * 3


def test_a_person_decision_stands_against_a_declared_policy(declared, fixtures):
    session = open_session(accept="first")
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    first, *_ = session.generate(passage)
    session.decide(first.id, False, "no")
    edits = session.apply_policy(passage)
    assert [(e.status, e.decided_by) for e in edits] == [
        ("rejected", "person"),
        ("accepted", "policy"),
        ("rejected", "policy"),
    ]


def test_a_metric_declared_once_fills_the_matrix_and_seal_show(declared, fixtures, capsys):
    from seal_cli.main import main

    session = open_session(greedy_answers=True)
    session.add_paper(read_paper(fixtures / "velmora.md")[0])
    session.run()
    matrix = session.matrix("answer_length")
    assert matrix.label == "answer length" and not matrix.lower_is_better
    first = session.passages()[0].id
    assert (matrix.cell(0, first), matrix.cell(1, first)) == (4.0, 1.0)  # "I do not know", then "1873"
    summaries, _bwt = summarize(matrix)
    assert summaries[0].gain == -3.0  # higher is better, as declared: a shorter answer is a loss
    session.close()
    assert main(["show", "demo", "--metric", "answer_length", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["metric"] == "answer_length" and shown["values"][0][0] == 4.0 and shown["values"][1][0] == 1.0


def test_the_command_line_and_the_config_take_their_choices_from_the_declarations(declared, capsys):
    from seal_cli.flags import overrides
    from seal_cli.main import build_parser

    parser = build_parser()
    args = parser.parse_args(["run", "--session", "x", "--accept", "first"])
    assert SessionConfig.from_dict({**SessionConfig().to_dict(), **overrides(args, "run")}).accept == "first"
    assert parser.parse_args(["show", "x", "--metric", "answer_length"]).metric == "answer_length"
    from seal_tui.screens.help import help_text

    assert "the metric (answer NLL, F1, contains, answer length)" in help_text()
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--help"])
    assert "first: accept only the first candidate" in " ".join(capsys.readouterr().out.split())
    POLICIES.unregister(FIRST.name)
    with pytest.raises(ConfigError, match="accept must be one of all, none, heuristic, filter, got 'first'"):
        SessionConfig(accept="first")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--session", "x", "--accept", "first"])


def test_probe_kinds_are_declared_once():
    from engine import config
    from engine.papers import probes
    from engine.store import rows

    assert config.PROBE_KINDS is probes.KINDS and rows.PROBE_KINDS is probes.STORED_KINDS
    assert set(probes.KINDS) < set(probes.STORED_KINDS)
    assert rows.ROLES is probes.ROLES
    with pytest.raises(ConfigError, match="probes must be one of given, cloze, qa, got 'poll'"):
        SessionConfig(probes="poll")


def test_replay_is_a_session_setting_and_older_stored_configs_keep_theirs(fixtures):
    old = SessionConfig().to_dict()
    old["train"] = {**old["train"], "replay": 0.5}
    del old["replay"]
    loaded = SessionConfig.from_dict(old)
    assert loaded.replay == 0.5 and not hasattr(loaded.train, "replay")
    assert SessionConfig.from_dict(loaded.to_dict()) == loaded
    with pytest.raises(ConfigError, match="replay is given twice"):
        SessionConfig.from_dict({**old, "replay": 1.0})
    with pytest.raises(ConfigError, match="replay must be 0..10"):
        SessionConfig(replay=-1.0)
    session = open_session(accept="all", replay=1.0)
    session.add_paper(read_paper(fixtures / "velmora.md")[0])
    session.run()
    assert [u.params["replay"] for u in session.updates()] == [1.0, 1.0, 1.0]  # the history shows it


def test_an_older_session_stored_with_train_replay_opens_with_its_replay(fixtures):
    home = Home()
    stored = SessionConfig(
        accept="all", generation=GenerationConfig(candidates=1), train=TrainConfig(epochs=1)
    ).to_dict()
    stored["train"]["replay"] = 1.0
    del stored["replay"]
    home.store.create_session("old", stored)
    runtime = FakeRuntime()
    session = home.open("old", runtime=runtime)
    assert session.config.replay == 1.0
    session.add_paper(read_paper(fixtures / "velmora.md")[0])
    session.run()
    first, second = session.passages()[:2]
    own = repeat_passage(session.examples_for(second), session.config.train.passage_repeats)
    assert runtime.trained[1][: len(own)] == own
    assert set(runtime.trained[1][len(own) :]) <= set(session.examples_for(first))
    assert runtime.trained[1] != own  # something was replayed


def test_the_filter_verdict_is_a_record_that_reads_back_from_what_is_stored():
    from engine.domain import SelfEdit

    edits = [SelfEdit(i, 1, "implications", f"e{i}", "pending") for i in range(2)]
    out = verdicts([Trial(edits[0], 0.123, 0.01), Trial(edits[1], 0.01, 0.0)], 0.05, 0.5, 3)
    kept, low = out[0], out[1]
    assert (kept.kept, kept.why, low.kept, low.why) == (True, "rank 1", False, "reward below 0.05")
    assert FilterVerdict.read(kept.reason, True, 0.123, 0.01) == kept
    # a reason stored before the record existed reads the same way, from its text alone
    assert FilterVerdict.read("reward +1.00, damage +0.10: rank 1", True) == FilterVerdict(1.0, 0.1, True, "rank 1")
    assert (
        FilterVerdict.read("reward +nan, damage +0.00: reward below 0.05", False, math.nan).why == "reward below 0.05"
    )
    assert FilterVerdict.read("a person's note", False) is None
