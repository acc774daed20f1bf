"""Rich renderings of a session for the terminal: the forgetting heatmap and session lists."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from engine.domain import version_label
from engine.scores.evaluate import LOWER_IS_BETTER, Matrix, summarize
from engine.scores.metrics import METRICS


def fit_title(title: str, width: int) -> str:
    """A title cut to `width` characters, keeping a passage's part ("Paper · 2/3" loses
    letters from the paper's title first, so passages of one paper stay apart)."""
    if len(title) <= width:
        return title
    paper, sep, part = title.rpartition(" · ")
    room = width - len(part) - len(sep)
    if sep and room >= 2:
        return paper[: room - 1] + "…" + sep + part
    return title[: width - 1] + "…"


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


WORSE = 0.005
"""A change against base smaller than this shows as 0.00 and is not called worse."""


def vs_base(matrix: Matrix, version: int, passage_id: int) -> tuple[float, float, float] | None:
    """(base, value, change) of a passage's score at a version against the base model, the
    change being the plain difference value - base (for NLL negative is better); None when
    either was not scored."""
    if version not in matrix.rows or 0 not in matrix.rows or passage_id not in matrix.cols:
        return None
    base, value = matrix.cell(0, passage_id), matrix.cell(version, passage_id)
    if base is None or value is None:
        return None
    return base, value, value - base


FAMILY_WORDS = {"question": "questions", "recall": "recall probes"}
"""How reports name a probe family (engine.papers.probes.FAMILIES)."""


def _worse(metric: str, change: float) -> bool:
    return change > WORSE if LOWER_IS_BETTER[metric] else change < -WORSE


def worse_than_base(matrix: Matrix, version: int, passage_id: int) -> bool:
    """Whether a version scores a passage worse than the base model did (before any learning)."""
    found = vs_base(matrix, version, passage_id) if version != 0 else None
    return found is not None and _worse(matrix.metric, found[2])


def change_style(matrix: Matrix, change: float) -> str:
    """Red when a change against base is for the worse, green when for the better."""
    return "bold red" if _worse(matrix.metric, change) else "green" if _worse(matrix.metric, -change) else ""


def change_word(matrix: Matrix, change: float) -> str:
    """A change against base in a word: better, worse, or same (within WORSE)."""
    return "worse" if _worse(matrix.metric, change) else "better" if _worse(matrix.metric, -change) else "same"


def signed_style(value: float) -> str:
    """For a number signed so that positive is better (gain, BWT; forgetting negated):
    green when better, red when worse."""
    return "green" if value > WORSE else "bold red" if value < -WORSE else ""


def signed_word(value: float) -> str:
    """signed_style in a word."""
    return "better" if value > WORSE else "worse" if value < -WORSE else "same"


def update_note(matrix: Matrix, version: int, passage_id: int, labels: dict[int, str]) -> tuple[str, str]:
    """What an update did, against the base model as well as the version before: the line
    under the progress bar ("v1 learned P1: 2.24 → 2.10 vs base (-0.14, better)") and, when the new
    version scores any passage worse than base, a warning naming each (empty otherwise)."""
    name = labels.get(passage_id, "?")
    note = f"{version_label(version)} learned {name}"
    if (found := vs_base(matrix, version, passage_id)) is not None:
        base, value, change = found
        note += f": {base:.2f} → {value:.2f} vs base ({change:+.2f}, {change_word(matrix, change)})"
    return note, base_warning(matrix, version, labels)


def base_warning(
    matrix: Matrix, version: int, labels: dict[int, str], undo: str = "z on an earlier heatmap row rolls back."
) -> str:
    """A warning naming every passage `version` scores worse than the base model did ('' when none)."""
    worse = [
        (col, scored)
        for col in matrix.cols
        if worse_than_base(matrix, version, col) and (scored := vs_base(matrix, version, col)) is not None
    ]  # worse than base implies scored against base
    if not worse:
        return ""
    parts = ", ".join(f"{labels.get(c, '?')} {base_c:.2f} → {now_c:.2f}" for c, (base_c, now_c, _) in worse)
    return (
        f"{version_label(version)} scores {parts} worse than the base model did "
        f"({METRICS[matrix.metric].label} on held-out {FAMILY_WORDS[matrix.family]}, base → now): "
        f"the model got worse there. {undo}"
    )


def heatmap(matrix: Matrix, titles: dict[int, str] | None = None) -> Table:
    """Versions down, passages across; each cell coloured by its value."""
    titles = titles or {}
    numbers = [v for row in matrix.values for v in row if v is not None]
    lo, hi = (min(numbers), max(numbers)) if numbers else (0.0, 1.0)
    lower = LOWER_IS_BETTER[matrix.metric]
    table = Table(
        title=f"{matrix.metric} on held-out {FAMILY_WORDS[matrix.family]} ({'lower' if lower else 'higher'} is better)",
        header_style="bold",
    )
    table.add_column("version", justify="right")
    for col in matrix.cols:
        table.add_column(f"p{col}\n{fit_title(titles.get(col, ''), 10)}", justify="center")
    table.add_column("drift\nvs base", justify="center")
    learned_by: dict[int, int | str] = {v: p for p, v in matrix.learned_at.items()}
    learned_by.update({v: "?" for v in matrix.abandoned})
    for version, row in zip(matrix.rows, matrix.values):
        label: str | Text = version_label(version) + ("" if version == 0 else f" (+p{learned_by.get(version, '?')})")
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
    """Per passage: when learned, gain then, forgetting since its best, and where it stands
    now against the base model (latest - base; for NLL negative is better)."""
    rows, bwt = summarize(matrix)
    table = Table(header_style="bold")
    for name in ("passage", "learned in", "gain", "forgetting", "now vs base"):
        table.add_column(name, justify="right")
    fmt = lambda v: "-" if v is None else f"{v:+.2f}"  # noqa: E731
    path = [r for r in matrix.rows if r not in matrix.abandoned]
    latest = path[-1] if path else 0
    for s in rows:
        found = vs_base(matrix, latest, s.passage_id) if latest != 0 else None
        now = Text("-") if found is None else Text(f"{found[2]:+.2f}", style=change_style(matrix, found[2]))
        table.add_row(
            f"p{s.passage_id}", "-" if s.learned_at is None else f"v{s.learned_at}", fmt(s.gain), fmt(s.forgetting), now
        )
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
    out: list[tuple[str, ...]] = []
    previous = None
    for r in rounds:
        before, after = stats.get(previous), stats.get(r.number)
        out.append(
            (
                f"r{r.number}",
                r.trigger,
                str(len(r.edit_ids)),
                f"{r.losses[-1]:.2f}" if r.losses else "-",
                f"{_rate(before.acceptance)} -> {_rate(after.acceptance)}",
                f"{_reward(before.mean_reward)} -> {_reward(after.mean_reward)}",
                f"{before.candidates} / {after.candidates}",
            )
        )
        previous = r.number
    return out


EDITOR_COLUMNS = (
    "round",
    "trigger",
    "pairs",
    "loss",
    "acceptance before -> after",
    "reward before -> after",
    "candidates before / after",
)


def editor_table(rounds, stats) -> Table:
    table = Table(header_style="bold", title="editor rounds")
    for name in EDITOR_COLUMNS:
        table.add_column(name, justify="right")
    for row in editor_rows(rounds, stats):
        table.add_row(*row)
    return table
