"""Rich renderings of a session for the terminal: the forgetting heatmap and session lists."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text

from engine.evaluate import LOWER_IS_BETTER, Matrix, summarize


def _colour(value: float, lo: float, hi: float, lower_is_better: bool) -> str:
    """Green for good, red for bad, on the range of values in this matrix."""
    t = 0.5 if hi <= lo else (value - lo) / (hi - lo)
    if lower_is_better:
        t = 1 - t
    red, green = int(200 * (1 - t)) + 30, int(180 * t) + 40
    return f"rgb({red},{green},60)"


DRIFT_ALARM = 0.1
"""Drift above this many nats (against base) shows red: the update moved the whole model."""


def drift_cell(matrix: Matrix, version: int) -> tuple[str, str]:
    """(text, style) of a version's drift against the base model; '·' when not scored."""
    base, value = matrix.drift.get(0), matrix.drift.get(version)
    if base is None or value is None:
        return "·", "dim"
    delta = value - base
    if version == 0:
        return "0", "dim"
    return f"{delta:+.2f}", "bold red" if delta > DRIFT_ALARM else "green" if delta <= 0 else ""


def heatmap(matrix: Matrix, titles: dict[int, str] | None = None) -> Table:
    """Versions down, passages across; each cell coloured by its value."""
    titles = titles or {}
    numbers = [v for row in matrix.values for v in row if v is not None]
    lo, hi = (min(numbers), max(numbers)) if numbers else (0.0, 1.0)
    lower = LOWER_IS_BETTER[matrix.metric]
    table = Table(title=f"{matrix.metric} ({'lower' if lower else 'higher'} is better)", header_style="bold")
    table.add_column("version", justify="right")
    for col in matrix.cols:
        table.add_column(f"p{col}\n{titles.get(col, '')[:10]}", justify="center")
    table.add_column("drift\nvs base", justify="center")
    learned_by = {v: p for p, v in matrix.learned_at.items()}
    learned_by.update({v: "?" for v in matrix.abandoned})
    for version, row in zip(matrix.rows, matrix.values):
        label = "base" if version == 0 else f"v{version} (+p{learned_by.get(version, '?')})"
        if version in matrix.abandoned:
            label = Text(f"v{version} abandoned", style="dim strike")
        cells = []
        for col, value in zip(matrix.cols, row):
            if value is None:
                cells.append(Text("·", style="dim"))
            else:
                style = f"bold white on {_colour(value, lo, hi, lower)}"
                if matrix.learned_at.get(col) == version:
                    style += " underline"
                cells.append(Text(f"{value:.2f}", style=style))
        cells.append(Text(*drift_cell(matrix, version)))
        table.add_row(label, *cells)
    return table


def summary_table(matrix: Matrix) -> tuple[Table, float | None]:
    """Per passage: when learned, gain then, forgetting since its best."""
    rows, bwt = summarize(matrix)
    table = Table(header_style="bold")
    for name in ("passage", "learned in", "gain", "forgetting"):
        table.add_column(name, justify="right")
    fmt = lambda v: "-" if v is None else f"{v:+.2f}"  # noqa: E731
    for s in rows:
        table.add_row(f"p{s.passage_id}", "-" if s.learned_at is None else f"v{s.learned_at}", fmt(s.gain), fmt(s.forgetting))
    return table, bwt


def sessions_table(sessions) -> Table:
    table = Table(header_style="bold")
    for name in ("session", "passages", "updates", "version", "created"):
        table.add_column(name)
    for s in sessions:
        table.add_row(s.name, str(s.passages), str(s.updates), f"v{s.current_version}", s.created_at[:19])
    return table


def strategy_table(stats: dict[str, dict]) -> Table:
    """Per strategy: candidates, accepted, acceptance rate, mean reward of filter trials."""
    table = Table(header_style="bold", title="strategies")
    for name in ("strategy", "candidates", "accepted", "acceptance", "mean reward"):
        table.add_column(name, justify="right")
    for name, row in sorted(stats.items()):
        reward = "-" if row["mean_reward"] is None else f"{row['mean_reward']:+.2f}"
        table.add_row(name, str(row["candidates"]), str(row["accepted"]), f"{row['acceptance']:.0%}", reward)
    return table


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _reward(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def editor_rows(rounds, stats) -> list[tuple[str, ...]]:
    """Per editor round: number, trigger, pairs, final loss, then acceptance and mean reward
    of the candidates written before it (by the previous editor) and with it."""
    out = []
    previous = None
    for r in rounds:
        before, after = stats.get(previous), stats.get(r.number)
        out.append((
            f"r{r.number}", r.trigger, str(len(r.edit_ids)), f"{r.losses[-1]:.2f}" if r.losses else "-",
            f"{_rate(before.acceptance)} -> {_rate(after.acceptance)}",
            f"{_reward(before.mean_reward)} -> {_reward(after.mean_reward)}",
            f"{before.candidates} / {after.candidates}",
        ))
        previous = r.number
    return out


EDITOR_COLUMNS = ("round", "trigger", "pairs", "loss", "acceptance before -> after",
                  "reward before -> after", "candidates before / after")


def editor_table(rounds, stats) -> Table:
    table = Table(header_style="bold", title="editor rounds")
    for name in EDITOR_COLUMNS:
        table.add_column(name, justify="right")
    for row in editor_rows(rounds, stats):
        table.add_row(*row)
    return table
