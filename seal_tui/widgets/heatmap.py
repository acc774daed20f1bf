"""The forgetting heatmap: versions down, passages across, one coloured cell per score.

A cursor picks a cell (arrow keys); the screen shows that passage's probes and scores at
that version. The colour scale runs over the values in view, with a legend under it. When
the passages do not fit the width, a window of columns follows the cursor. The last column,
always in view, is drift: each version's change in answer NLL on unrelated questions (the
drift set) against the base model, so a model that got worse as a whole shows apart from
what it learned. Cells score held-out probes only (engine.evaluate's Matrix). Under the rows:
gain (against the version before learning), forgetting (since its best) and the current
version against base, since a gain can hide a passage that still sits above the base model;
a cell worse than base is marked "!".
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget

from engine.domain import version_label
from engine.evaluate import LOWER_IS_BETTER, Matrix, summarize
from engine.metrics import METRICS
from seal_tui.messages import CellSelected
from seal_tui.render import FAMILY_WORDS, change_style, drift_cell, vs_base, worse_than_base

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

    def show(self, matrix: Matrix, labels: dict[int, str]) -> None:
        self.matrix, self.labels = matrix, labels
        row, col = self.cursor
        if row >= len(matrix.rows) or col >= len(matrix.cols):
            self.cursor = (max(0, len(matrix.rows) - 1), max(0, min(col, len(matrix.cols) - 1)))
        self.border_title = f"Forgetting · {matrix.label} · held-out {FAMILY_WORDS[matrix.family]}"
        self.refresh(layout=True)

    def select_column(self, passage_id: int) -> None:
        if self.matrix and passage_id in self.matrix.cols:
            self.cursor = (self.cursor[0], self.matrix.cols.index(passage_id))

    def select_version(self, version: int) -> None:
        if self.matrix and version in self.matrix.rows:
            self.cursor = (self.matrix.rows.index(version), self.cursor[1])

    def select_last_row(self) -> None:
        if self.matrix and self.matrix.rows:
            self.cursor = (len(self.matrix.rows) - 1, self.cursor[1])

    def action_move(self, drow: int, dcol: int) -> None:
        if not self.matrix or not self.matrix.cols:
            return
        row = min(max(0, self.cursor[0] + drow), len(self.matrix.rows) - 1)
        col = min(max(0, self.cursor[1] + dcol), len(self.matrix.cols) - 1)
        self.cursor = (row, col)
        self.post_message(CellSelected(self.matrix.rows[row], self.matrix.cols[col]))

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
        return rows + 7 if self.matrix and self.matrix.cols else 1

    def _window(self, m: Matrix, width: int) -> range:
        """The columns in view: all when they fit, else a window that keeps the cursor in it."""
        count = len(m.cols)
        room = self.content_size.width
        fit = count if room <= 0 else max(1, (room - width) // CELL - 1)  # the drift column stays
        if fit >= count:
            self._first, shown, note = 0, range(count), ""
        else:
            col = self.cursor[1]
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
            out.append(text.center(CELL), style="dim" if gone else style)
        summaries, _bwt = summarize(m)
        for name, attr in (("gain", "gain"), ("forget", "forgetting")):
            out.append("\n")
            out.append(name.ljust(width), style="italic")
            for s in summaries[shown.start : shown.stop]:
                v = getattr(s, attr)
                out.append(("-" if v is None else f"{v:+.2f}").center(CELL), style="dim" if v is None else "")
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
            out.append("no scores for this metric yet", style="dim")
        out.append("\ngain: vs version before · forget: since best", style="dim")
        out.append("\n! worse than base · drift: unrelated questions", style="dim")
        return out
