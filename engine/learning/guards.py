"""What checks an update and a trial on a passage: the passage's reward probes, never its
held-out ones (which only reports read), and the drift set's guard questions.

Plain functions of a passage and its stored probes (engine.domain.Passage), shared by the
session, the reward filter and the benchmarks; no model here.
"""

from __future__ import annotations

from engine.domain import Passage
from engine.learning.drift import drift_items
from engine.papers.probes import family, split_roles
from engine.runtime.protocol import TrainingGuards
from engine.scores.evaluate import probe_text


def probe_items(passage: Passage, role: str, of_family: str | None = None) -> list[tuple[str, str]]:
    """(prompt, answer) of the passage's probes of one role (engine.papers.probes.ROLES), in stored
    order; with `of_family`, of that probe family only (engine.papers.probes.FAMILIES)."""
    return [
        (probe_text(passage.title, q.kind, q.question), q.answer)
        for q in passage.probes
        if q.role == role and (of_family is None or family(q.kind) == of_family)
    ]


def reward_items(passage: Passage) -> list[tuple[str, str]]:
    """(prompt, answer) of the passage's reward probes (questions and recall): what the
    filter and the per-epoch check may read. A passage stored without any (one or two
    probes, before probe roles existed) gets cloze questions made from its text, never its
    held-out probes."""
    if items := probe_items(passage, "reward"):
        return items
    stored = [(q.kind, q.question, q.answer) for q in passage.probes]
    stored = stored if len(stored) < 3 else []  # three or more would alternate: never take held-out ones
    made = split_roles(passage.title, passage.text, stored)
    return [(probe_text(passage.title, k, q), a) for k, q, a, role in made if role == "reward"]


def training_guards(passage: Passage) -> TrainingGuards:
    """What keeps an update on the passage specific: its reward items and the drift set's
    guard questions (engine.runtime.protocol.TrainingGuards)."""
    return TrainingGuards(tuple(reward_items(passage)), tuple(drift_items("guard")))
