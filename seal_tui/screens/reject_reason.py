"""Reject a candidate with a reason (x on a card): one line, optional; r rejects without asking."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class RejectReasonScreen(ModalScreen[str | None]):
    """Dismisses with the reason typed (maybe empty) on Enter, None on Esc (nothing decided)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="reason-dialog", classes="dialog"):
            yield Label("[b]Reject this candidate[/]: why? (Enter rejects, Esc cancels)", classes="dialog-title")
            yield Input(placeholder="e.g. invents a date; repeats the passage (optional)", id="reason")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())
