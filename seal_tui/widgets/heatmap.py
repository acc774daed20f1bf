"""The forgetting heatmap: versions down, passages across, one coloured cell per score.

A cursor picks a cell (arrow keys); the screen shows that passage's probes and scores at
that version. The colour scale runs over the values in view, with a legend under it. When
the passages do not fit the width, a window of columns follows the cursor. The last column,
always in view, is drift: each version's change in answer NLL on unrelated questions (the
drift set) against the base model, so a model that got worse as a whole shows apart from
what it learned; the cursor stops on it too, and the screen then shows its questions. Cells
score held-out probes only (engine.scores.evaluate's Matrix). Under the rows: gain (against the
version before learning), forgetting (since its best) and the current version against base,
since a gain can hide a passage that still sits above the base model; a cell worse than
base is marked "!". The legend says which sign of each is better, for the metric shown, and
each number is green when it is better, red when worse.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget

from engine.domain import version_label
from engine.scores.evaluate import LOWER_IS_BETTER, Matrix, summarize
from engine.scores.metrics import METRICS
from seal_tui.messages import CellSelected
from seal_tui.render import FAMILY_WORDS, change_style, drift_cell, signed_style, vs_base, worse_than_base

CELL = 7
LABEL = 8


def colour(value: float, lo: float, hi: float, lower_is_better: bool) -> str:
    """Green for good, red for bad, on the range of values shown."""
    t = 0.5 if hi <= lo else (value - lo) / (hi - lo)
    if lower_is_better:
        t = 1 - t
    return f"rgb({int(190 * (1 - t)) + 40},{int(170 * t) + 50},70)"


class Heatmap(Widget, can_focus=True):
    BINDINGS = [
        Binding("left", "move(0, -1)", "◀", show=False),
        Binding("right", "move(0, 1)", "▶", show=False),
        Binding("up", "move(-1, 0)", "▲", show=False),
        Binding("down", "move(1, 0)", "▼", show=False),
        Binding("z", "screen.rollback", "Roll back", tooltip="Roll back to the selected heatmap row's version"),
    ]

    cursor: reactive[tuple[int, int]] = reactive((0, 0))

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.matrix: Matrix | None = None
        self.labels: dict[int, str] = {}
        self._first = 0  # the first column in view when not all fit
        self.empty = "no scores for this metric yet"
        """What the legend says when the metric shown has no values."""

    def show(self, matrix: Matrix, labels: dict[int, str], empty: str = "") -> None:
        """empty: what to say when the metric has no values (default: none yet)."""
        self.matrix, self.labels = matrix, labels
        self.empty = empty or "no scores for this metric yet"
        row, col = self.cursor
        if row >= len(matrix.rows) or col > len(matrix.cols):
            self.cursor = (max(0, len(matrix.rows) - 1), max(0, min(col, len(matrix.cols))))
        self.border_title = f"Forgetting · {matrix.label} · held-out {FAMILY_WORDS[matrix.family]}"
        self.refresh(layout=True)

    def select_column(self, passage_id: int) -> None:
        if self.matrix and passage_id in self.matrix.cols:
            self.cursor = (self.cursor[0], self.matrix.cols.index(passage_id))

    @property
    def on_drift(self) -> bool:
        """Whether the cursor is on the drift column (after the passages)."""
        return self.matrix is not None and bool(self.matrix.cols) and self.cursor[1] == len(self.matrix.cols)

    def cell(self) -> tuple[int, int | None] | None:
        """(version, passage id) under the cursor, the passage None on the drift column."""
        m = self.matrix
        if m is None or not m.rows or not m.cols:
            return None
        row, col = self.cursor
        return m.rows[min(row, len(m.rows) - 1)], (m.cols[col] if col < len(m.cols) else None)

    def select_version(self, version: int) -> None:
        if self.matrix and version in self.matrix.rows:
            self.cursor = (self.matrix.rows.index(version), self.cursor[1])

    def select_last_row(self) -> None:
        if self.matrix and self.matrix.rows:
            self.cursor = (len(self.matrix.rows) - 1, self.cursor[1])

    def action_move(self, drow: int, dcol: int) -> None:
        """Move the cursor; right of the last passage is the drift column."""
        if not self.matrix or not self.matrix.cols or not self.matrix.rows:
            return
        row = min(max(0, self.cursor[0] + drow), len(self.matrix.rows) - 1)
        col = min(max(0, self.cursor[1] + dcol), len(self.matrix.cols))
        self.cursor = (row, col)
        cols = self.matrix.cols
        self.post_message(CellSelected(self.matrix.rows[row], cols[col] if col < len(cols) else None))

    def watch_cursor(self) -> None:
        self.refresh()

    def _label_width(self) -> int:
        abandoned = self.matrix.abandoned if self.matrix else set()
        return max([LABEL] + [len(f"v{v} abandoned") + 1 for v in abandoned])

    def _current(self) -> int | None:
        """The current version: the newest row on the session's path (rows not abandoned)."""
        path = [v for v in self.matrix.rows if v not in self.matrix.abandoned] if self.matrix else []
        return path[-1] if path else None

    def get_content_width(self, container, viewport) -> int:
        cols = len(self.matrix.cols) if self.matrix else 0
        return max(self._label_width() + CELL * (cols + 1), 36)

    def get_content_height(self, container, viewport, width) -> int:
        rows = len(self.matrix.rows) if self.matrix else 0
        return rows + 8 if self.matrix and self.matrix.cols else 1  # header, 3 summaries, colour, 3 legend lines

    def _window(self, m: Matrix, width: int) -> range:
        """The columns in view: all when they fit, else a window that keeps the cursor in it."""
        count = len(m.cols)
        room = self.content_size.width
        fit = count if room <= 0 else max(1, (room - width) // CELL - 1)  # the drift column stays
        if fit >= count:
            self._first, shown, note = 0, range(count), ""
        else:
            col = min(self.cursor[1], count - 1)  # on the drift column: the last passages
            self._first = min(max(self._first, col - fit + 1), col, count - fit)
            shown = range(self._first, self._first + fit)
            note = f"{shown.start + 1}–{shown.stop} of {count} passages · ←/→"
        if self.border_subtitle != note:  # set during a render: draw the border again after it
            self.border_subtitle = note
            self.call_after_refresh(self.refresh)
        return shown

    def render(self) -> Text:
        m = self.matrix
        if m is None or not m.cols:
            return Text("No passages yet.", style="dim")
        lower = LOWER_IS_BETTER[m.metric]
        numbers = [v for row in m.values for v in row if v is not None]
        lo, hi = (min(numbers), max(numbers)) if numbers else (0.0, 1.0)
        learned_by = {v: p for p, v in m.learned_at.items()}
        width, current = self._label_width(), self._current()
        shown = self._window(m, width)
        out = Text(no_wrap=True)
        out.append(" " * width)
        for col in m.cols[shown.start : shown.stop]:
            out.append(self.labels.get(col, f"#{col}").center(CELL), style="bold")
        out.append("drift".center(CELL), style="bold italic")
        for r, (version, row) in enumerate(zip(m.rows, m.values)):
            out.append("\n")
            tag = version_label(version)
            gone = version in m.abandoned
            if gone:
                tag += " abandoned"
            elif version in learned_by:
                tag += f"+{self.labels.get(learned_by[version], '?')}"
            out.append(tag[: width - 1].ljust(width), style="dim" if gone else "bold" if version == current else "")
            for c, (col, value) in enumerate(zip(m.cols, row)):
                if c not in shown:
                    continue
                here = (r, c) == self.cursor
                if value is None:
                    out.append(("[ · ]" if here else "·").center(CELL), style="reverse" if here else "dim")
                    continue
                if gone:  # off the session's path: the numbers, without colour
                    out.append(f"{value:.2f}".center(CELL - 1), style="dim reverse" if here else "dim")
                    out.append(" ")
                    continue
                style = f"bold white on {colour(value, lo, hi, lower)}"
                if m.learned_at.get(col) == version:
                    style += " underline"
                if here:
                    style += " reverse"
                mark = "!" if worse_than_base(m, version, col) else ""
                out.append(f"{value:.2f}{mark}".center(CELL - 1), style=style)
                out.append(" ")
            text, style = drift_cell(m, version)
            if (r, len(m.cols)) == self.cursor:
                text, style = f"[{text}]", f"{style} reverse"
            out.append(text.center(CELL), style="dim" if gone else style)
        summaries, _bwt = summarize(m)
        for name, attr, sign in (("gain", "gain", 1), ("forget", "forgetting", -1)):
            out.append("\n")
            out.append(name.ljust(width), style="italic")
            for s in summaries[shown.start : shown.stop]:
                v = getattr(s, attr)
                text = "-" if v is None else f"{v:+.2f}"
                out.append(text.center(CELL), style="dim" if v is None else signed_style(sign * v))
        out.append("\n")
        out.append("vs base".ljust(width), style="italic")
        for col in m.cols[shown.start : shown.stop]:
            found = vs_base(m, current, col) if current else None
            if found is None:
                out.append("-".center(CELL), style="dim")
            else:
                out.append(f"{found[2]:+.2f}".center(CELL), style=change_style(m, found[2]))
        out.append("\n")
        if numbers:
            good, bad = (lo, hi) if lower else (hi, lo)
            name = METRICS[m.metric].short_label
            out.append(f"colour: {good:.2f} ({'low' if lower else 'high'} {name}, good) ", style="dim")
            for i in range(4):
                out.append(" ", style=f"on {colour(good + (bad - good) * i / 3, lo, hi, lower)}")
            out.append(f" {bad:.2f} ({'high' if lower else 'low'})", style="dim")
        else:
            out.append(self.empty, style="dim")
        for line in legend(m.metric):
            out.append(f"\n{line}", style="dim")
        return out


def legend(metric: str) -> list[str]:
    """What each number under the rows means and which sign of it is better, in lines that
    fit the narrow layout (46 columns): vs base is a plain difference, so its good sign
    follows the metric."""
    lower = LOWER_IS_BETTER[metric]
    name = METRICS[metric].short_label
    return [
        "gain: when learned, + better · forget: + worse",
        f"vs base: {'−' if lower else '+'} better ({'lower' if lower else 'higher'} {name}) · ! = worse",
        "drift: unrelated questions vs base, + worse",
    ]
