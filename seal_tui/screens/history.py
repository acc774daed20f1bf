"""Every update of the session, newest last, under tables of how each self-edit strategy and
each editor round did. Each update shows the edits it trained on and those rejected (with who
decided), and its passage's held-out answer NLL before and after it, against the base model."""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from engine.learning.editor import round_stats
from seal_tui.widgets.editor_rounds import EditorRounds
from seal_tui.widgets.passage_list import label
from seal_tui.widgets.strategy_stats import StrategyStats
from seal_tui.widgets.update_entry import UpdateEntry


def rejected_edits(session, update) -> list:
    """The passage's rejected self-edits that the update did not train on."""
    trained = set(update.params.get("edit_ids", []))
    return [e for e in session.self_edits(update.passage_id) if e.status == "rejected" and e.id not in trained]


def nll_around(matrix, update) -> tuple[float | None, float | None, float | None]:
    """(base, before, after): the passage's held-out answer NLL under the base model, the
    version the update started from, and the version it made (None where not scored)."""

    def cell(version):
        if version not in matrix.rows or update.passage_id not in matrix.cols:
            return None
        return matrix.cell(version, update.passage_id)

    return cell(0), cell(update.parent_version), cell(update.version)


def trained_edits(session, update) -> list:
    """The self-edits an update trained on, with the texts and deciders it recorded (a later
    rewrite, veto or rollback does not change what it learned, nor who accepted it then).
    An update recorded before deciders were names the decider only while the edit is still
    accepted ("accepted then" otherwise)."""
    texts = update.params.get("edits", {})
    deciders = update.params.get("deciders", {})
    trained = set(update.params.get("edit_ids", []))

    def then(e) -> str | None:
        if str(e.id) in deciders:
            return deciders[str(e.id)]
        return e.decided_by if e.status == "accepted" else "accepted then"

    return [
        replace(e, text=texts.get(str(e.id), e.text), status="accepted", decided_by=then(e))
        for e in session.self_edits(update.passage_id)
        if e.id in trained
    ]


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
            matrix = self.session.matrix("answer_nll")
            if not updates:
                yield Static("No updates yet: u on the session screen runs one.", classes="empty")
            for u in updates:
                p = passages.get(u.passage_id)
                yield UpdateEntry(
                    u,
                    p,
                    label(p) if p else "?",
                    trained_edits(self.session, u) if p else [],
                    rejected_edits(self.session, u) if p else [],
                    nll_around(matrix, u),
                )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"seal · {self.session.name} · history"
        self.query_one("#history").border_title = f"{len(self.session.updates())} update(s)"
        self.query_one(StrategyStats).show(self.session.strategy_stats())
        self.query_one(EditorRounds).show(self.session.editor_rounds(), round_stats(self.session))
