"""Heatmap metrics: what one cell of the forgetting matrix shows, each declared once.

A Metric has a name, the label people read, whether lower is better, and how one stored
score row (engine.domain.Score) gives its value: from the answer NLL, or from the stored
greedy answer and the probe's gold answer (None where the row has none, e.g. a session
scored without greedy answers). engine.scores.evaluate builds the matrix and its summaries
through METRICS; `seal show --metric`, the app's metric switch and the heatmap's title read
names, labels and directions from it. Adding a metric is one `METRICS.register(Metric(...))`.

f1 and contains are also stored columns of the scores table (from before this registry):
where a row holds the stored value, that value is shown, so older sessions show exactly
what they recorded; rows without it are computed from the stored answer.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from engine.domain import Score
from engine.vocabulary import Vocabulary


def _normalize(text: str) -> list[str]:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return text.split()


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = _normalize(prediction), _normalize(gold)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains_match(prediction: str, gold: str) -> float:
    ref = " ".join(_normalize(gold))
    return float(bool(ref) and ref in " ".join(_normalize(prediction)))


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    """How the heatmap's title names it."""
    help: str
    lower_is_better: bool
    value: Callable[[Score, str | None], float | None]
    """(a stored score row, the probe's gold answer or None) -> the value, or None: no value."""
    needs_answer: bool = False
    """Reads the greedy answer, which only sessions with greedy_answers store."""
    short: str = ""
    """A shorter label where room is tight (the heatmap's legend); empty: the label."""

    @property
    def short_label(self) -> str:
        return self.short or self.label


def of_answer(compare: Callable[[str, str], float]) -> Callable[[Score, str | None], float | None]:
    """A metric's value from the stored greedy answer against the gold answer."""

    def value(score: Score, gold: str | None) -> float | None:
        return None if score.answer is None or gold is None else compare(score.answer, gold)

    return value


def _stored_or(column: str, compare: Callable[[str, str], float]) -> Callable[[Score, str | None], float | None]:
    from_answer = of_answer(compare)

    def value(score: Score, gold: str | None) -> float | None:
        stored = getattr(score, column)
        return stored if stored is not None else from_answer(score, gold)

    return value


METRICS: Vocabulary[Metric] = Vocabulary(
    "metric",
    (
        Metric(
            "answer_nll",
            "answer NLL",
            "mean per-token NLL of the gold answer, closed-book (lower is better)",
            True,
            lambda score, gold: score.answer_nll,
            short="NLL",
        ),
        Metric(
            "f1",
            "F1",
            "token F1 of the greedy answer against the gold answer",
            False,
            _stored_or("f1", token_f1),
            needs_answer=True,
        ),
        Metric(
            "contains",
            "contains",
            "whether the greedy answer contains the gold answer",
            False,
            _stored_or("contains", contains_match),
            needs_answer=True,
        ),
    ),
)
"""Every heatmap metric, in the order the app's metric switch cycles through them."""
