"""The session at a glance: version, passages learned, mean gain and forgetting, and BWT."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from engine.evaluate import Matrix, summarize


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


class SessionStats(Static):
    def show(self, matrix: Matrix, version: int, passages: int) -> None:
        summaries, bwt = summarize(matrix)
        gains = [s.gain for s in summaries if s.gain is not None]
        forgets = [s.forgetting for s in summaries if s.forgetting is not None]
        learned = sum(1 for s in summaries if s.learned_at is not None)
        text = Text.assemble(
            ("version ", "dim"), (f"v{version}", "bold"),
            ("  learned ", "dim"), (f"{learned}/{passages}", "bold"),
            ("  gain ", "dim"), (_fmt(_mean(gains)), "bold green"),
            ("  forgetting ", "dim"), (_fmt(_mean(forgets)), "bold red"),
            ("  BWT ", "dim"), (_fmt(bwt), "bold"),
        )
        self.update(text)
