"""Every update of the session, newest last, under tables of how each self-edit strategy and
each editor round did."""
from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from engine.editor import round_stats
from seal_tui.widgets.editor_rounds import EditorRounds
from seal_tui.widgets.passage_list import label
from seal_tui.widgets.strategy_stats import StrategyStats
from seal_tui.widgets.update_entry import UpdateEntry


def trained_edits(session, update) -> list:
    """The self-edits an update trained on, with the texts it recorded (a later rewrite or
    veto does not change what it learned)."""
    texts = update.params.get("edits", {})
    trained = set(update.params.get("edit_ids", []))
    return [replace(e, text=texts.get(str(e.id), e.text)) for e in session.self_edits(update.passage_id) if e.id in trained]


class HistoryScreen(Screen):
    BINDINGS = [Binding("escape,h", "app.pop_screen", "Back")]

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with VerticalScroll(id="history"):
            yield StrategyStats(id="strategy-stats")
            yield EditorRounds(id="editor-rounds")
            passages = {p.id: p for p in self.session.passages()}
            updates = self.session.updates()
            if not updates:
                yield Static("No updates yet: u on the session screen runs one.", classes="empty")
            for u in updates:
                p = passages.get(u.passage_id)
                yield UpdateEntry(u, p, label(p) if p else "?", trained_edits(self.session, u) if p else [])
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"seal · {self.session.name} · history"
        self.query_one("#history").border_title = f"{len(self.session.updates())} update(s)"
        self.query_one(StrategyStats).show(self.session.strategy_stats())
        self.query_one(EditorRounds).show(self.session.editor_rounds(), round_stats(self.session))
