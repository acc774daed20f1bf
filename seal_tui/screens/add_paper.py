"""Add a paper: a typed path, a file picked from a tree, or pasted text."""
from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, TextArea

from engine.ingest import SUPPORTED
from seal_tui.messages import PaperRequested


class AddPaperScreen(ModalScreen[PaperRequested | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("ctrl+o", "browse", "Browse files"),
        Binding("ctrl+s", "add", "Add"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"[b]Add a paper[/] ({SUPPORTED}), or paste text below", classes="dialog-title")
            yield Input(placeholder="path to a paper, e.g. ~/papers/velmora.md", id="path")
            yield Label("…or paste the text (title optional):", classes="dim")
            yield Input(placeholder="title of the pasted text", id="title")
            yield TextArea(id="pasted", soft_wrap=True)
            with Horizontal(classes="buttons"):
                yield Button("Add", variant="primary", id="add")
                yield Button("Browse… (ctrl+o)", id="browse")
                yield Button("Cancel", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"add": self.action_add, "browse": self.action_browse, "cancel": lambda: self.dismiss(None)}[event.button.id]()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "path":
            self.action_add()

    def action_add(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        text = self.query_one("#pasted", TextArea).text
        if path:
            self.dismiss(PaperRequested(path=str(Path(path).expanduser())))
        elif text.strip():
            self.dismiss(PaperRequested(text=text, title=self.query_one("#title", Input).value.strip()))
        else:
            self.notify("Type a path or paste some text first.", severity="warning")

    def action_browse(self) -> None:
        from seal_tui.screens.file_picker import FilePickerScreen

        def picked(path: str | None) -> None:
            if path:
                self.query_one("#path", Input).value = path
                self.query_one("#path", Input).focus()

        self.app.push_screen(FilePickerScreen(), picked)
