"""Rewrite a candidate by hand; what is saved is what trains if it is accepted (the store
keeps the model's own text beside it)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, TextArea


class EditText(TextArea):
    """The candidate's text; ctrl+a selects it all, as in most editors (TextArea's own
    ctrl+a, the start of the line, stays on home)."""

    BINDINGS = [Binding("ctrl+a", "select_all", "Select all", show=False)]


class EditCandidateScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="editor", classes="dialog"):
            yield Label(
                "[b]Edit the candidate[/] (ctrl+a selects all, ctrl+s saves, Esc cancels)", classes="dialog-title"
            )
            yield EditText(self.text.strip(), id="edit-text", soft_wrap=True)
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)
