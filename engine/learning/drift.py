"""The drift set: questions about text no session learns, shipped with the package.

Every update scores it, so a change of the whole model shows apart from learning about
the passage. Its two halves are fixed: `guard` questions may steer training (the anchor,
the per-epoch check), `report` questions are only ever shown and benchmarked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from engine.scores.evaluate import probe_prompt

DRIFT_FILE = Path(__file__).parents[1] / "data" / "drift_set.json"
PARTS = ("guard", "report")


@cache
def _load() -> dict:
    return json.loads(DRIFT_FILE.read_text(encoding="utf-8"))


def drift_questions(part: str) -> list[tuple[str, str, str]]:
    """(topic, question, answer) of one half of the drift set."""
    if part not in PARTS:
        raise ValueError(f"drift part must be one of {', '.join(PARTS)}, got {part!r}")
    return [tuple(row) for row in _load()[part]]


def drift_items(part: str) -> list[tuple[str, str]]:
    """(closed-book prompt, answer) pairs of one half, as probes are scored."""
    return [(probe_prompt(topic, question), answer) for topic, question, answer in drift_questions(part)]


@dataclass(frozen=True)
class DriftAnswer:
    """One report question under the base model and a version (engine.sessions.session_scoring.drift_detail)."""

    topic: str
    question: str
    answer: str
    base_nll: float
    nll: float
    base_said: str | None = None
    """The base model's greedy answer (None: the session does not score answers)."""
    said: str | None = None
