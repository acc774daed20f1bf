"""The session at a glance: version, passages learned, mean gain and forgetting, BWT, and
the learned passages against the base model, with a warning for any passage the current
version scores worse than base (a gain over the version before can hide one)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from engine.evaluate import Matrix, summarize
from seal_tui.render import change_style, vs_base, worse_than_base


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


class SessionStats(Static):
    def show(self, matrix: Matrix, version: int, passages: int, labels: dict[int, str] | None = None) -> None:
        """labels: passage id -> its name (default P1, P2... in the matrix's order)."""
        labels = labels or {col: f"P{i + 1}" for i, col in enumerate(matrix.cols)}
        summaries, bwt = summarize(matrix)
        gains = [s.gain for s in summaries if s.gain is not None]
        forgets = [s.forgetting for s in summaries if s.forgetting is not None]
        learned = sum(1 for s in summaries if s.learned_at is not None)
        text = Text.assemble(
            ("version ", "dim"),
            (f"v{version}", "bold"),
            ("  learned ", "dim"),
            (f"{learned}/{passages}", "bold"),
            ("  gain ", "dim"),
            (_fmt(_mean(gains)), "bold red" if (_mean(gains) or 0) < 0 else "bold green"),
            ("  forgetting ", "dim"),
            (_fmt(_mean(forgets)), "bold red"),
            ("  BWT ", "dim"),
            (_fmt(bwt), "bold"),
        )
        now = [
            found
            for s in summaries
            if s.learned_at is not None
            and version != 0
            and (found := vs_base(matrix, version, s.passage_id)) is not None
        ]
        change = _mean([found[2] for found in now])
        text.append("  vs base ", "dim")
        text.append(_fmt(change), "bold " + change_style(matrix, change) if change is not None else "bold")
        worse = [
            (col, scored)
            for col in matrix.cols
            if worse_than_base(matrix, version, col) and (scored := vs_base(matrix, version, col)) is not None
        ]  # worse than base implies scored against base
        if worse:
            cells = ", ".join(f"{labels.get(col, '?')} {b:.2f} → {v:.2f}" for col, (b, v, _) in worse)
            text.append(f"\n⚠ worse than base now: {cells}", "bold red")
        self.update(text)
