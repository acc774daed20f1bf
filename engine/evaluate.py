"""Probe prompts, answer metrics, and the forgetting matrix with its derived metrics.

Pure Python: the model-side scoring lives in engine.runtime.scorer.
Conventions: rows are model versions (0 = base), columns are passages; for answer NLL
lower is better, for F1/contains higher is better. Gains and transfer are signed so that
positive always means "better".
"""
from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass, field

METRICS = ("answer_nll", "f1", "contains")
LOWER_IS_BETTER = {"answer_nll": True, "f1": False, "contains": False}


def probe_prompt(title: str, question: str) -> str:
    """The closed-book prompt: no passage, only its topic and the question."""
    return f"Topic: {title}\nQuestion: {question}\nAnswer:"


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


@dataclass
class Matrix:
    """Mean probe metric per (version, passage); None where that pair was never scored."""

    metric: str
    rows: list[int]
    cols: list[int]
    values: list[list[float | None]]
    learned_at: dict[int, int] = field(default_factory=dict)
    """passage id -> the version whose update learned it (on the current path)."""
    abandoned: set[int] = field(default_factory=set)
    """Versions left behind by a rollback: shown, but not part of the metrics."""
    drift: dict[int, float] = field(default_factory=dict)
    """version -> mean answer NLL on the drift set's report questions (unrelated text no
    session learns): a change of the whole model, apart from learning."""

    def cell(self, version: int, passage_id: int) -> float | None:
        return self.values[self.rows.index(version)][self.cols.index(passage_id)]


def build_matrix(scores, versions: list[int], passage_ids: list[int], learned_at: dict[int, int], metric: str = "answer_nll") -> Matrix:
    """Average each passage's probe scores per version; scores are engine.domain.Score."""
    sums: dict[tuple[int, int], list[float]] = {}
    for s in scores:
        value = getattr(s, metric)
        if value is not None:
            sums.setdefault((s.version, s.passage_id), []).append(value)
    values = [
        [(sum(v) / len(v)) if (v := sums.get((row, col))) else None for col in passage_ids]
        for row in versions
    ]
    return Matrix(metric, list(versions), list(passage_ids), values, dict(learned_at))


def _better(metric: str, before: float, after: float) -> float:
    """How much `after` improves on `before`, positive = better."""
    return before - after if LOWER_IS_BETTER[metric] else after - before


@dataclass(frozen=True)
class PassageSummary:
    passage_id: int
    learned_at: int | None
    gain: float | None
    """Improvement from the version before learning to the version that learned it."""
    forgetting: float | None
    """How far the latest score is from the passage's best since it was learned (>= 0)."""


def summarize(matrix: Matrix) -> tuple[list[PassageSummary], float | None]:
    """Per-passage gain and forgetting, and the session's backward transfer (BWT).

    BWT averages, over passages learned before the last version, the change from the
    score right after learning to the latest score (negative means forgetting).
    """
    path = [r for r in matrix.rows if r not in matrix.abandoned]
    latest = path[-1] if path else None
    out, transfers = [], []
    for col in matrix.cols:
        v = matrix.learned_at.get(col)
        gain = forgetting = None
        if v is not None and v in path:
            after = matrix.cell(v, col)
            prior = [r for r in path if r < v and matrix.cell(r, col) is not None]
            before = matrix.cell(prior[-1], col) if prior else None
            if after is not None and before is not None:
                gain = _better(matrix.metric, before, after)
            since = [matrix.cell(r, col) for r in path if r >= v and matrix.cell(r, col) is not None]
            now = matrix.cell(latest, col)
            if since and now is not None:
                best = min(since) if LOWER_IS_BETTER[matrix.metric] else max(since)
                forgetting = max(0.0, -_better(matrix.metric, best, now))
                if v < latest and after is not None:
                    transfers.append(_better(matrix.metric, after, now))
        out.append(PassageSummary(col, v, gain, forgetting))
    bwt = sum(transfers) / len(transfers) if transfers else None
    return out, bwt
