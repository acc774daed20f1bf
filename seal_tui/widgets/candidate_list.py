"""The selected passage's candidates, one card each, in the order they were written, and the
card of one that could not be written, with why, until writing starts again."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from engine.domain import SelfEdit
from engine.events import CandidateFailed
from seal_tui.widgets.candidate_card import CandidateCard

EMPTY = "No candidates yet: press [b]s[/] to have the model write some about this passage."


class CandidateList(VerticalScroll, can_focus=False):
    """Cards indexed like the engine's Token events: the n-th self-edit of the passage.
    The list itself takes no focus: Tab lands on the first card, up/down move between cards."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.passage_id: int | None = None
        self.strategy = ""
        self._cards: dict[int, CandidateCard] = {}
        self.failure: CandidateFailed | None = None
        """The candidate that could not be written last, shown after the stored ones."""

    @property
    def cards(self) -> list[CandidateCard]:
        return [self._cards[i] for i in sorted(self._cards)]

    def show(
        self,
        passage_id: int | None,
        strategy: str,
        edits: list[SelfEdit],
        verdicts: dict[int, tuple[bool, str]],
        lines: dict[int, tuple[int, int]] | None = None,
    ) -> None:
        """Redraw from stored state, keeping focus on the same card where there is one.
        lines: edit id -> (lines an update would train, lines it has)."""
        lines = lines or {}
        focused = self.screen.focused if self.is_attached else None
        focus_index = focused.index if isinstance(focused, CandidateCard) and focused in self.cards else None
        same = passage_id is not None and passage_id == self.passage_id
        self.passage_id, self.strategy = passage_id, strategy
        cards = self.cards
        if same and cards and len(cards) == len(edits) and all(c.edit_id in (None, e.id) for c, e in zip(cards, edits)):
            for card, edit in zip(cards, edits):
                card.set_edit(edit, verdicts.get(edit.id), lines.get(edit.id))
            return
        self.remove_children()
        self._cards = {}
        if passage_id is None:
            self.mount(Static("Add a paper with [b]p[/] to begin.", classes="empty"))
            return
        if not edits and (self.failure is None or self.failure.passage_id != passage_id):
            self.mount(Static(EMPTY, classes="empty"))
            return
        new = [CandidateCard(i, e.strategy, e) for i, e in enumerate(edits)]
        for card, edit in zip(new, edits):
            card.verdict, card.lines = verdicts.get(edit.id), lines.get(edit.id)
        if (failed := self.failure) is not None and failed.passage_id == passage_id and failed.index >= len(edits):
            new.append(CandidateCard(len(edits), strategy))
            new[-1].fail(failed.message)
        self._cards = {c.index: c for c in new}
        self.mount_all(new)
        if focus_index is not None and focus_index < len(new):
            new[focus_index].focus()

    def card(self, index: int) -> CandidateCard:
        """The card for candidate `index`, created (streaming) when it is new."""
        if index in self._cards:
            return self._cards[index]
        self.query(".empty").remove()
        card = self._cards[index] = CandidateCard(index, self.strategy)
        self.mount(card)
        self.scroll_end(animate=False)
        return card

    def failed(self, event: CandidateFailed) -> None:
        """Candidate `event.index` could not be written: its card says why."""
        self.failure = event
        if event.passage_id == self.passage_id:
            self.card(event.index).fail(event.message)

    def by_edit(self, edit_id: int) -> CandidateCard | None:
        return next((c for c in self.cards if c.edit_id == edit_id), None)
