"""Editor rounds: how acceptance and reward changed once each round wrote the candidates."""

from __future__ import annotations

from rich import box
from rich.table import Table
from textual.widgets import Static

from seal_tui.render import EDITOR_COLUMNS, editor_rows


class EditorRounds(Static):
    """A small table from Session.editor_rounds() and engine.learning.editor.round_stats()."""

    def show(self, rounds, stats) -> None:
        if not rounds:
            self.update("No editor rounds yet: i on the session screen trains the editor on the kept self-edits.")
            return
        table = Table(
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
            show_edge=False,
            expand=False,
            title="editor rounds",
            title_justify="left",
        )
        for name in EDITOR_COLUMNS:
            table.add_column(name, justify="right")
        for row in editor_rows(rounds, stats):
            table.add_row(*row)
        self.update(table)
