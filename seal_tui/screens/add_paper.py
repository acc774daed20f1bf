"""Add a paper: a typed path, a file picked from a tree, or pasted text.

Before anything is added, the dialog shows what the paper will become (read in a worker,
with the session's passage size and limit, a moment after the path or text last changed):
how many passages, each one's title and first words, or why the file cannot be read. Add
confirms it (its label says how many passages), Esc cancels. A paper that cannot be read is
not added: the dialog stays, with what was typed and why. Text of several lines pasted into
the path field goes to the paste box, which keeps its size when the preview shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, Static, TextArea
from textual.worker import Worker, WorkerState, get_current_worker

from engine.domain import PaperDraft
from engine.papers.ingest import MAX_PASSAGES, IngestError, paper_from_text, read_paper
from engine.papers.paper_formats import SUPPORTED
from seal_tui.messages import PaperRequested

PREVIEW_DELAY_S = 0.3
"""How long the path or text must stay unchanged before the paper is read for the preview."""
PREVIEW_LINES = 3
"""Passages listed in the preview; the rest are counted (the preview fits 5 lines)."""
Source = tuple[str, str, str]
"""What a preview is of: (path, pasted text, title); the path wins when both are given."""


def describe(drafts: list[PaperDraft], width: int = 70) -> Text:
    """The preview: how many passages, then each one's title and first words, a line each."""
    passages = [p for d in drafts for p in d.passages]
    count = f"{len(passages)} passage{'s' * (len(passages) != 1)}"
    head = f"{len(drafts)} papers, {count}" if len(drafts) > 1 else f"“{drafts[0].title}” becomes {count}"
    lines = [Text(head + ":", style="bold")]
    for n, p in enumerate(passages[:PREVIEW_LINES], 1):
        lines.append(Text.assemble(f"{n:>3} ", (p.title, "bold"), ("  " + " ".join(p.text.split()[:16]), "dim")))
    if len(passages) > PREVIEW_LINES:
        lines.append(Text(f"    … and {len(passages) - PREVIEW_LINES} more", style="dim"))
    for line in lines:
        line.truncate(width, overflow="ellipsis")
    return Text("\n").join(lines)


class PathInput(Input):
    """The path field; a paste of several lines is a paper's text, and goes to the paste box."""

    def _on_paste(self, event: events.Paste) -> None:
        if len([line for line in event.text.splitlines() if line.strip()]) > 1:
            event.prevent_default()  # Input's own handler would keep the first line
            event.stop()
            box = self.screen.query_one("#pasted", TextArea)
            box.text = event.text
            box.focus()


class AddPaperScreen(ModalScreen[PaperRequested | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("ctrl+o", "browse", "Browse files"),
        Binding("ctrl+s", "add", "Add"),
    ]

    @dataclass
    class Previewed(Message):
        """The preview worker read `source`: its papers, or why it cannot be read."""

        source: Source
        drafts: list[PaperDraft]
        error: str = ""

    def __init__(self, passage_tokens: int = 300, max_passages: int = MAX_PASSAGES) -> None:
        super().__init__()
        self.passage_tokens, self.max_passages = passage_tokens, max_passages
        self._timer: Timer | None = None
        self.previewed: Source | None = None
        """The source the preview shows."""
        self.readable = False
        """Whether the source the preview shows can be added (it was read without an error)."""
        self.problem = ""
        """Why it cannot, when it cannot."""
        self.adding = False
        """Add was asked for before the preview had read what is typed: add once it has, if it can."""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"[b]Add a paper[/] ({SUPPORTED}), or paste text below", classes="dialog-title")
            yield PathInput(placeholder="path to a paper, e.g. ~/papers/velmora.md", id="path", compact=True)
            yield Label("…or paste the text (title optional):", classes="dim")
            yield Input(placeholder="title of the pasted text", id="title", compact=True)
            yield TextArea(id="pasted", soft_wrap=True)
            preview = Static("", id="preview")
            preview.display = False  # until there is something to read
            yield preview
            with Horizontal(classes="buttons"):
                yield Button("Add", variant="primary", id="add")
                yield Button("Browse… (ctrl+o)", id="browse")
                yield Button("Cancel", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"add": self.action_add, "browse": self.action_browse, "cancel": lambda: self.dismiss(None)}
        actions[event.button.id or ""]()  # every button has one of these ids

    # -- the preview -----------------------------------------------------------------
    def source(self) -> Source:
        path = self.query_one("#path", Input).value.strip()
        text = self.query_one("#pasted", TextArea).text
        if path:
            return (str(Path(path).expanduser()), "", "")
        return ("", text if text.strip() else "", self.query_one("#title", Input).value.strip())

    def on_input_changed(self, event: Input.Changed) -> None:
        self._changed()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._changed()

    def _changed(self) -> None:
        """Read the paper once its path or text has stopped changing for a moment; the last
        preview stays in place meanwhile (the dialog does not jump at every key)."""
        if self._timer is not None:
            self._timer.stop()
        self.previewed, self.readable, self.adding = None, False, False
        self.query_one("#add", Button).label = "Add"
        self._timer = self.set_timer(PREVIEW_DELAY_S, self._start_preview)

    def _start_preview(self) -> None:
        self._timer = None
        source = self.source()
        if source[0] or source[1]:
            if not self.query_one("#preview", Static).display:
                self._say(Text("reading…", style="dim"))
            self._preview(source)
        else:
            self._show(None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview", description="reading the paper")
    def _preview(self, source: Source) -> None:
        path, text, title = source
        try:
            if path:
                drafts = read_paper(path, self.passage_tokens, self.max_passages)
            else:
                drafts = [paper_from_text(text, title or None, "pasted text", self.passage_tokens, self.max_passages)]
        except IngestError as exc:
            drafts, error = [], str(exc)
        else:
            error = ""
        if not get_current_worker().is_cancelled:
            self.post_message(self.Previewed(source, drafts, error))

    def on_add_paper_screen_previewed(self, message: Previewed) -> None:
        if message.source == self.source():
            self._show(message)
            if self.adding:
                self.adding = False
                self.action_add()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "preview" and event.state == WorkerState.ERROR:
            asked, self.adding = self.adding, False
            self.readable, self.problem = False, f"cannot read it: {event.worker.error}"
            self.previewed = self.source()
            self._say(Text(self.problem, style="red"))
            if asked:
                self.notify(f"Cannot add it: {self.problem}", severity="warning")

    def _say(self, text: Text | None) -> None:
        shown = self.query_one("#preview", Static)
        shown.display = text is not None
        shown.update(text or "")
        self.query_one("#dialog").set_class(text is not None, "-preview")  # the paste box gives it room

    def _show(self, preview: Previewed | None) -> None:
        """Show a preview (None: none yet); the Add button says what it will add."""
        add = self.query_one("#add", Button)
        self.previewed = preview.source if preview else None
        self.readable = preview is not None and not preview.error
        self.problem = preview.error if preview is not None else ""
        if preview is None:
            self._say(None)
            add.label = "Add"
        elif preview.error:
            self._say(Text(preview.error, style="red"))
            add.label = "Add"
        else:
            self._say(describe(preview.drafts))
            count = sum(len(d.passages) for d in preview.drafts)
            add.label = f"Add {count} passage{'s' * (count != 1)}"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "path":
            self.action_add()

    def action_add(self) -> None:
        """Add what the preview read; read it first when the preview has not yet. A source
        that cannot be read keeps the dialog open, with the reason in the preview."""
        source = self.source()
        path, text, title = source
        if not path and not text:
            self.notify("Type a path or paste some text first.", severity="warning")
            return
        if self.previewed != source:  # not read yet: read it now, and add once it is
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            self.adding = True
            self._say(Text("reading…", style="dim"))
            self._preview(source)
            return
        if not self.readable:
            self.notify(f"Cannot add it: {self.problem}", severity="warning")
            self.query_one("#path" if path else "#pasted").focus()
            return
        self.dismiss(PaperRequested(path=path) if path else PaperRequested(text=text, title=title))

    def action_browse(self) -> None:
        from seal_tui.screens.file_picker import FilePickerScreen

        def picked(path: str | None) -> None:
            if path:
                self.query_one("#path", Input).value = path
                self.query_one("#path", Input).focus()

        self.app.push_screen(FilePickerScreen(), picked)
