"""Pick a paper from a directory tree (Enter on a file chooses it)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Label

SUFFIXES = {".txt", ".md", ".markdown", ".pdf", ".json"}


class PaperTree(DirectoryTree):
    """Folders and the files seal can read; dot-files hidden."""

    def filter_paths(self, paths):
        return [p for p in paths if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() in SUFFIXES)]


class FilePickerScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, root: str | Path | None = None) -> None:
        super().__init__()
        self.root = Path(root or Path.cwd())

    def compose(self) -> ComposeResult:
        with Vertical(id="picker", classes="dialog"):
            yield Label(f"[b]Pick a paper[/] under {self.root}", classes="dialog-title")
            yield PaperTree(self.root)

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(str(event.path))
