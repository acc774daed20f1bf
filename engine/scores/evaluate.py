"""Probe prompts and the forgetting matrix with its derived metrics.

Pure Python: the model-side scoring lives in engine.runtime.scorer, and what one cell shows
(answer NLL, F1, contains, ...) is declared in engine.scores.metrics.
Conventions: rows are model versions (0 = base), columns are passages; each metric says
whether lower is better. Gains and transfer are signed so that positive always means "better".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from engine.scores.metrics import METRICS, contains_match, token_f1

__all__ = [
    "LOWER_IS_BETTER",
    "METRICS",
    "Matrix",
    "PassageSummary",
    "build_matrix",
    "contains_match",
    "probe_prompt",
    "probe_text",
    "summarize",
    "token_f1",
]


class _LowerIsBetter(Mapping[str, bool]):
    """metric name -> whether lower is better: a view of engine.scores.metrics.METRICS for callers."""

    def __getitem__(self, name: str) -> bool:
        return METRICS[name].lower_is_better

    def __iter__(self) -> Iterator[str]:
        return iter(METRICS)

    def __len__(self) -> int:
        return len(METRICS)


LOWER_IS_BETTER: Mapping[str, bool] = _LowerIsBetter()


def probe_prompt(title: str, question: str) -> str:
    """The closed-book prompt: no passage, only its topic and the question."""
    return f"Topic: {title}\nQuestion: {question}\nAnswer:"


def probe_text(title: str, kind: str, question: str) -> str:
    """A stored probe's closed-book prompt: a question after the topic (probe_prompt), or a
    recall probe's sentence prefix after the title, which the answer continues."""
    return f"{title}\n{question}" if kind == "recall" else probe_prompt(title, question)


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
    family: str = "question"
    """Which probes the cells average (engine.papers.probes.FAMILIES): question or recall."""

    def cell(self, version: int, passage_id: int) -> float | None:
        return self.values[self.rows.index(version)][self.cols.index(passage_id)]

    @property
    def label(self) -> str:
        """The metric as people read it ("answer NLL")."""
        return METRICS[self.metric].label

    @property
    def lower_is_better(self) -> bool:
        return METRICS[self.metric].lower_is_better


def build_matrix(
    scores,
    versions: list[int],
    passage_ids: list[int],
    learned_at: dict[int, int],
    metric: str = "answer_nll",
    gold: Mapping[int, str] | None = None,
) -> Matrix:
    """Average each passage's probe values per version under a metric of engine.scores.metrics;
    scores are engine.domain.Score, gold maps probe id -> gold answer (for answer metrics)."""
    measure, gold = METRICS[metric], gold or {}
    sums: dict[tuple[int, int], list[float]] = {}
    for s in scores:
        value = measure.value(s, gold.get(s.probe_id))
        if value is not None:
            sums.setdefault((s.version, s.passage_id), []).append(value)
    values = [[(sum(v) / len(v)) if (v := sums.get((row, col))) else None for col in passage_ids] for row in versions]
    return Matrix(metric, list(versions), list(passage_ids), values, dict(learned_at))


def _better(metric: str, before: float, after: float) -> float:
    """How much `after` improves on `before`, positive = better."""
    return before - after if METRICS[metric].lower_is_better else after - before


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
            assert latest is not None  # v is on the path
            since = [x for x in (matrix.cell(r, col) for r in path if r >= v) if x is not None]
            now = matrix.cell(latest, col)
            if since and now is not None:
                best = min(since) if METRICS[matrix.metric].lower_is_better else max(since)
                forgetting = max(0.0, -_better(matrix.metric, best, now))
                if v < latest and after is not None:
                    transfers.append(_better(matrix.metric, after, now))
        out.append(PassageSummary(col, v, gain, forgetting))
    bwt = sum(transfers) / len(transfers) if transfers else None
    return out, bwt
