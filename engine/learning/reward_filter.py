"""The reward filter: ReST-EM's filter, done locally, with STABLE's forgetting budget.

Each candidate that passes the heuristic gate gets a cheap trial update on its own
examples, starting from the adapter the real update would start from. Its reward is the
drop in this passage's mean probe NLL; its damage is the rise in earlier passages' mean probe
NLL (on a fixed subset of anchor probes; with per-paper adapters, of the same paper's
passages). Only reward probes are read, never held-out ones, so the choice never sees the
questions reports show. With reward_vs="passage" both are measured against a
trial on the passage alone, and each candidate's trial includes the passage, so only what
a candidate adds beyond the passage counts. Candidates with enough reward and damage within budget
are kept, best first, at most top_k. The trials never change the session's version.
With FilterConfig.ray set, the candidates' trials run on Ray workers that each hold the
model (engine.runtime.ray_pool), and are read back in candidate order, so the verdicts are
the ones a run without Ray gives.
`run_trials` runs them for a session (storing each reward as it comes); the rules it follows
(trial_recipe, trial_examples, reference_nll, reward_and_damage, verdicts) are plain
functions that seal bench ki calls too.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from functools import partial
from threading import Event
from typing import TYPE_CHECKING

from engine import events as ev
from engine.domain import Passage, Probe, SelfEdit
from engine.learning.training_examples import passage_example
from engine.runtime.protocol import TrialScores
from engine.runtime.ray_pool import Serial
from engine.scores.evaluate import probe_text
from engine.selfedits.edit_lines import to_examples

if TYPE_CHECKING:
    from pathlib import Path

    from engine.config import SessionConfig, TrainConfig
    from engine.runtime.protocol import Runtime, TrainingGuards

DEFAULT_SECONDS_PER_STEP = 0.3
"""Used for the time estimate before a session has timed any update."""


@dataclass(frozen=True)
class Trial:
    edit: SelfEdit
    reward: float
    damage: float


def anchor_probes(earlier: list[Passage], limit: int) -> list[tuple[Passage, Probe]]:
    """Up to `limit` reward probes spread evenly over earlier passages (round robin, newest first)."""
    queues = [[(p, q) for q in p.probes if q.role == "reward"] for p in reversed(earlier)]
    queues = [q for q in queues if q]
    out: list[tuple[Passage, Probe]] = []
    while queues and len(out) < limit:
        for queue in list(queues):
            if len(out) < limit:
                out.append(queue.pop(0))
            if not queue:
                queues.remove(queue)
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def trial_recipe(config: SessionConfig) -> TrainConfig:
    """How a trial update trains: the session's recipe for filter.trial_epochs epochs, with
    neither the per-epoch check nor the drift guard."""
    return replace(config.train, epochs=config.filter.trial_epochs, patience=0, drift_guard=0.0)


def passage_alone(passage: Passage, reward_vs: str) -> list[str | tuple[str, str]]:
    """What the reference trial trains on: with reward_vs="passage" the passage alone, else
    nothing (the reference is then the start model itself, untrained)."""
    return [passage_example(passage)] if reward_vs == "passage" else []


def trial_examples(passage: Passage, edit: SelfEdit, reward_vs: str) -> list[str | tuple[str, str]]:
    """What a candidate's trial trains on: all of its examples (to_examples, the passage
    last), and with reward_vs="passage" the passage once more."""
    return to_examples(edit.text, passage.title, passage.text, edit.strategy) + passage_alone(passage, reward_vs)


def reference_nll(
    runtime: Runtime,
    start: Path | None,
    at_base: bool,
    alone: list[str | tuple[str, str]],
    train: TrainConfig,
    items: list[tuple[str, str]],
    stop: Event | None = None,
    guards: TrainingGuards | None = None,
) -> list[float] | None:
    """The NLL per item that candidates' trials are measured against: after a trial on
    `alone` when it is given (passage_alone), else of the start model (`at_base`: the base
    model). None when the trial was cancelled."""
    if not alone:
        return runtime.answer_nll(start, at_base, items)
    baseline = runtime.trial(start, alone, train, items, stop, guards=guards)
    return None if baseline is None else baseline.nll


def reward_and_damage(before: list[float], after: list[float], own: int) -> tuple[float, float]:
    """A trial's reward, the drop in mean NLL on the first `own` items (the passage's reward
    items), and its damage, the rise in mean NLL on the rest (anchor probes; 0 without any)."""
    reward = _mean(before[:own]) - _mean(after[:own])
    damage = _mean(after[own:]) - _mean(before[own:]) if len(before) > own else 0.0
    return reward, damage


def estimate_seconds(session, steps: int) -> float:
    """Seconds for `steps` training steps, from the session's last timed update."""
    timed = [u for u in session.updates() if u.losses]
    per_step = timed[-1].seconds / len(timed[-1].losses) if timed else DEFAULT_SECONDS_PER_STEP
    return steps * per_step


def run_trials(
    session, passage: Passage, candidates: list[SelfEdit], on_event: ev.OnEvent = ev.ignore, stop: Event | None = None
) -> list[Trial]:
    """Trial-update each candidate; stores and returns reward and damage per candidate."""
    config = session.config.filter
    trial_train = trial_recipe(session.config)
    earlier = [
        p
        for p in session.passages()
        if p.position < passage.position and p.status == "learned" and session.shares_adapter(passage, p)
    ]
    anchors = anchor_probes(earlier, config.anchor_probes)
    own = session.reward_items(passage)
    items = own + [(probe_text(p.title, q.kind, q.question), q.answer) for p, q in anchors]
    guards = session.guards(passage)
    version = session.start_version(passage)
    start = session.adapter_for(version)
    alone = passage_alone(passage, config.reward_vs)
    examples = {e.id: trial_examples(passage, e, config.reward_vs) for e in candidates}
    steps = (sum(len(x) for x in examples.values()) + len(alone)) * trial_train.epochs
    on_event(ev.Filtering(passage.id, len(candidates), estimate_seconds(session, steps)))
    before = reference_nll(session.runtime, start, version == 0, alone, trial_train, items, stop, guards)
    if before is None:
        return []
    pool = _pool(session)  # None: the trials run here, one after another
    jobs = [partial(_trial, examples[e.id], trial_train, items, guards, None if pool else stop) for e in candidates]
    results = (pool or Serial(session.runtime)).run(jobs, start, stop)
    trials = []
    t0 = time.perf_counter()
    for index, (edit, result) in enumerate(zip(candidates, results)):
        if result is None:  # cancelled mid-trial
            break
        reward, damage = reward_and_damage(before, result.nll, len(own))
        session.store.set_reward(edit.id, reward, damage)
        trials.append(Trial(edit, reward, damage))
        on_event(ev.TrialDone(edit.id, index, len(candidates), reward, damage, time.perf_counter() - t0))
        t0 = time.perf_counter()
    return trials


def _trial(examples, config, items, guards, stop, runtime, start) -> TrialScores | None:
    """One candidate's trial: a job for engine.runtime.ray_pool (stop: None on a Ray worker)."""
    return runtime.trial(start, examples, config, items, stop, guards=guards)


def _pool(session):
    """The Ray workers the session's filter setting asks for (kept between passages), else None."""
    f = session.config.filter
    if f.ray is None:
        return None
    from engine.runtime.ray_pool import shared_pool

    return shared_pool(session.config.model, session.config.train, f.ray, f.ray_workers)


@dataclass(frozen=True)
class FilterVerdict:
    """The filter's verdict on one candidate, as the store keeps it: reward and damage in
    their own columns, the sentence in the self-edit's reason ("reward +0.12, damage +0.01:
    rank 1"). A card reads it with FilterVerdict.read, never by taking the sentence apart."""

    reward: float
    damage: float
    kept: bool
    why: str
    """What decided it: "rank 1", "reward below 0.05", "damage over the budget of 0.50"."""

    @property
    def reason(self) -> str:
        return f"reward {self.reward:+.2f}, damage {self.damage:+.2f}: {self.why}"

    @classmethod
    def read(
        cls, reason: str, kept: bool, reward: float | None = None, damage: float | None = None
    ) -> FilterVerdict | None:
        """The verdict a filter decision stored (its reason, its columns); None when the
        reason is not the filter's. Older stored reasons read the same way."""
        found = _REASON.fullmatch(reason or "")
        if found is None:  # a score that is not a plain number (nan): the sentence after it
            _, sep, why = (reason or "").partition(": ")
            return cls(reward or 0.0, damage or 0.0, kept, why) if sep else None
        return cls(
            float(found["reward"]) if reward is None else reward,
            float(found["damage"]) if damage is None else damage,
            kept,
            found["why"],
        )


_REASON = re.compile(r"reward (?P<reward>[+-]\d+\.\d+), damage (?P<damage>[+-]\d+\.\d+): (?P<why>.*)", re.DOTALL)


def verdicts(trials: list[Trial], min_gain: float, budget: float, top_k: int) -> dict[int, FilterVerdict]:
    """Keep or drop each trialled candidate, with the reason a person reads on its card."""
    out = {}
    eligible = []
    for t in trials:
        if t.reward < min_gain:
            out[t.edit.id] = FilterVerdict(t.reward, t.damage, False, f"reward below {min_gain:.2f}")
        elif t.damage > budget:
            out[t.edit.id] = FilterVerdict(t.reward, t.damage, False, f"damage over the budget of {budget:.2f}")
        else:
            eligible.append(t)
    eligible.sort(key=lambda t: t.reward, reverse=True)
    for rank, t in enumerate(eligible, 1):
        why = f"rank {rank}" + ("" if rank <= top_k else f", beyond top {top_k}")
        out[t.edit.id] = FilterVerdict(t.reward, t.damage, rank <= top_k, why)
    return out
