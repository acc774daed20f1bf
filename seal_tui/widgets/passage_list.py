"""The session's passages in order, each with its status and its probe questions."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from engine.domain import Passage
from seal_tui.messages import PassageSelected
from seal_tui.render import fit_title

STATUS = {"new": ("○", "dim"), "edits": ("◐", "yellow"), "learned": ("●", "green")}


def label(passage: Passage) -> str:
    return f"P{passage.position + 1}"


class PassageList(OptionList):
    """One option per passage; moving the highlight selects the passage."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.passages: list[Passage] = []

    def show(self, passages: list[Passage], selected_id: int | None = None) -> None:
        self.passages = list(passages)
        keep = self.highlighted
        self.clear_options()
        self.add_options([Option(self._prompt(p), id=str(p.id)) for p in passages])
        ids = [p.id for p in passages]
        if selected_id in ids:
            self.highlighted = ids.index(selected_id)
        elif passages:
            self.highlighted = keep if keep is not None and keep < len(passages) else 0

    def select(self, passage_id: int | None) -> None:
        """Move the highlight to a passage without rebuilding the options."""
        ids = [p.id for p in self.passages]
        if passage_id in ids and self.highlighted != ids.index(passage_id):
            self.highlighted = ids.index(passage_id)

    def on_resize(self) -> None:
        if self.passages:
            ids = [p.id for p in self.passages]
            selected = ids[self.highlighted] if self.highlighted is not None and self.highlighted < len(ids) else None
            self.show(self.passages, selected)

    def _prompt(self, p: Passage) -> Text:
        icon, style = STATUS.get(p.status, ("?", ""))
        width = max(30, (self.size.width or 48) - 6)
        tail = f" · {len(p.probes)} probes"
        head = f"{label(p)} {fit_title(p.title, width - len(tail) - len(label(p)) - 1)}"
        text = Text.assemble((icon + " ", style), (head, "bold"))
        text.append(tail, style="dim italic")
        snippet = " ".join(p.text.split())
        snippet = snippet if len(snippet) <= width else snippet[: width - 1] + "…"
        text.append(f"\n  {snippet}", style="dim")
        return text

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(PassageSelected(int(event.option.id)))
