"""seal bench ki and a session apply the same rules: for the same passage and self-edits they
gate alike, run the same filter trials, and train the same examples under the same guards."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from engine.domain import PaperDraft
from engine.papers.ingest import read_paper
from engine.selfedits.imported_edits import load_edits
from engine.sessions.home import Home
from seal_bench import cl
from tools.scripted_runtime import FakeRuntime

WRITTEN = (
    "Here are the implications:\n- {t} is a cold lake fed by the Tallow Glacier.\n"
    "- The meltwater of the glacier gives {t} its pale green colour.",
    "1. {t} lies in Ostrand and was mapped in 1873.\n2. {t} is frozen from November until late April.\n"
    "---\nThe Tallow Glacier feeds the mountain lake.",
    "- The passage describes a lake.\n- {t} stays frozen through the cold months of the province.",
)
"""Candidates by seed, about the fixture's first passage: grounded lines, a year the passage lacks
(grounding drops it), a line about the text (dropped as no content)."""


class Writer(FakeRuntime):
    """The scripted runtime writing a different self-edit per seed, remembering each trial's guards."""

    def __init__(self, title: str):
        super().__init__()
        self.title = title
        self.trial_guards: list = []

    def stream_chat(self, messages, config, stop=None):
        self.text = WRITTEN[(config.seed or 0) % len(WRITTEN)].format(t=self.title)
        yield from super().stream_chat(messages, config, stop)

    def trial(self, start, examples, config, items, stop=None, greedy_prompts=None, guards=None):
        self.trial_guards.append(guards)
        return super().trial(start, examples, config, items, stop, greedy_prompts, guards)


@pytest.fixture
def passage(fixtures):
    return cl.passages_of(read_paper(fixtures / "squad_sample.json", passage_tokens=4096), 1)[0]


def session_run(tmp_path, passage, config) -> Writer:
    """A session's run on the passage alone, from the base model; returns its runtime."""
    runtime = Writer(passage.title)
    home = Home(tmp_path / "home")
    try:
        session = home.open("same", config, runtime)
        session.add_paper(PaperDraft(passage.title, "bench", "same-rules", (passage,)))
        session.run()
    finally:
        home.close()
    return runtime


def bench_run(passage, config, condition: str, teacher=None) -> Writer:
    runtime = Writer(passage.title)
    cl.knowledge_incorporation(runtime, [passage], config, lambda line: None, teacher, ("base", condition))
    return runtime


def test_ki_edits_trains_what_a_session_with_the_heuristic_gate_trains(tmp_path, passage):
    config = cl.bench_config(edits=3, epochs=1, max_tokens=64)
    session, bench = session_run(tmp_path, passage, config), bench_run(passage, config, "edits")
    [trained] = session.trained
    assert bench.trials == [trained]  # the gate's choice, the grounded lines in order, the passage repeated
    assert len(set(trained)) > 2  # some self-edit lines passed the gate and grounding ...
    assert not any("1873" in line for line in trained)  # ... and the invented year did not
    assert bench.trial_guards == [session.guards]


@pytest.mark.parametrize("reward_vs", ["version", "passage"])
def test_ki_filtered_runs_the_trials_and_keeps_what_a_sessions_filter_keeps(tmp_path, passage, reward_vs):
    config = cl.bench_config(edits=3, epochs=1, max_tokens=64, reward_vs=reward_vs)
    config = replace(config, accept="filter", filter=replace(config.filter, min_gain=0.0))
    session, bench = session_run(tmp_path, passage, config), bench_run(passage, config, "filtered")
    *trials, trained = bench.trials
    assert trials == session.trials and len(trials) >= 2  # the same trial updates, in the same order
    assert trained == session.trained[0]
    assert bench.trial_guards == session.trial_guards + [session.guards]


def test_ki_teacher_trains_the_imported_lines_whole_as_a_session_does(tmp_path, passage):
    path = tmp_path / "teacher.json"
    lines = f"{passage.title} has 12 towers.\nIt was built by Ilse Narrowgate."  # not in the passage
    path.write_text(json.dumps([{"title": passage.title, "context": passage.text, "completions": [lines]}]))
    config = cl.bench_config(edits=1, epochs=1, max_tokens=64)
    config = replace(config, accept="all", generation=replace(config.generation, edits_from=str(path)))
    session, bench = session_run(tmp_path, passage, config), bench_run(passage, config, "teacher", load_edits(path))
    assert bench.trials == session.trained
    assert f"{passage.title}\n{passage.title} has 12 towers." in session.trained[0]
