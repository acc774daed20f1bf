"""Asked before quitting while an update or an editor round trains; it names the work that
runs (the session screen's busy()), and its text wraps to the dialog's width."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class ConfirmQuitScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "dismiss(True)", "Quit"),
        Binding("n,escape", "dismiss(False)", "Stay"),
    ]

    def __init__(self, doing: str = "training") -> None:
        """doing: the work that runs, in words ("running the update")."""
        super().__init__()
        self.doing = doing

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Label(f"[b]seal is {self.doing}.[/]", classes="dialog-title")
            yield Label(
                "Quit now? It stops after the step in flight, and nothing of it is kept: the current "
                "version stays, and every decision and accepted edit is kept.",
                id="question",
            )
            with Horizontal(classes="buttons"):
                yield Button("Quit (y)", variant="error", id="yes")
                yield Button("Stay (n)", variant="primary", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
