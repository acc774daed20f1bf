"""The session at a glance: the version, the learned passages against the base model, mean
gain and forgetting, passages learned, BWT, each with whether it is better or worse; and a
warning for any passage the current version scores worse than base (a gain over the version
before can hide one)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from engine.scores.evaluate import Matrix, summarize
from seal_tui.render import WORSE, change_style, change_word, signed_style, signed_word, vs_base, worse_than_base


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


class SessionStats(Static):
    def show(self, matrix: Matrix, version: int, passages: int, labels: dict[int, str] | None = None) -> None:
        """labels: passage id -> its name (default P1, P2... in the matrix's order). Each
        number is followed by whether it is better or worse, in its colour."""
        labels = labels or {col: f"P{i + 1}" for i, col in enumerate(matrix.cols)}
        summaries, bwt = summarize(matrix)
        gain = _mean([s.gain for s in summaries if s.gain is not None])
        forgetting = _mean([s.forgetting for s in summaries if s.forgetting is not None])
        learned = sum(1 for s in summaries if s.learned_at is not None)
        now = [
            found
            for s in summaries
            if s.learned_at is not None
            and version != 0
            and (found := vs_base(matrix, version, s.passage_id)) is not None
        ]
        change = _mean([found[2] for found in now])
        if version == 0 and not learned:
            self.update(Text.assemble(("base model", "bold"), (" · nothing learned yet", "dim")))
            return
        text = Text.assemble((f"v{version}", "bold"), ("  vs base ", "dim"))
        if change is None:
            text.append("-", "bold")
        else:
            style = change_style(matrix, change)
            text.append(f"{change:+.2f} {change_word(matrix, change)}", f"bold {style}" if style else "bold")
        signed = None if forgetting is None else -forgetting  # forgetting is a loss: positive is worse
        for name, value, better in (("gain", gain, gain), ("forget", forgetting, signed)):
            text.append(f"  {name} ", "dim")
            text.append(_fmt(value), "bold")
            if better is not None:
                word = "none" if name == "forget" and better >= -WORSE else signed_word(better)
                text.append(f" {word}", signed_style(better))
        text.append("  learned ", "dim")
        text.append(f"{learned}/{passages}", "bold")
        text.append("  BWT ", "dim")
        text.append(_fmt(bwt), "bold")
        if bwt is not None:
            text.append(f" {signed_word(bwt)}", signed_style(bwt))
        text.append(" (earlier passages since learned, − forgot)", "dim")
        worse = [
            (col, scored)
            for col in matrix.cols
            if worse_than_base(matrix, version, col) and (scored := vs_base(matrix, version, col)) is not None
        ]  # worse than base implies scored against base
        if worse:
            cells = ", ".join(f"{labels.get(col, '?')} {b:.2f} → {v:.2f}" for col, (b, v, _) in worse)
            text.append(f"\n⚠ worse than base now: {cells}", "bold red")
        self.update(text)
