"""A person's decisions on the session screen: accept, reject (with a reason), rewrite, all at
once, or write fresh candidates. SessionDecisions belongs to one SessionScreen, whose
handlers and keys call it.

A passage already learned keeps the decisions its update trained on: a decision or a rewrite
then would not change what the model learned, and would make the history say it did, so it
is refused with one line saying how to decide again (roll back to before that update).
After a decision focus moves on to the next card still to decide, so the next key acts on it.
Before an update trains, a person is told when it will learn only the passage itself
(no candidate accepted, or none of the accepted ones' lines kept by grounding).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.domain import Passage
from seal_tui.messages import CandidateDecided, CandidateEditRequested, CandidateReasonRequested
from seal_tui.widgets.candidate_list import CandidateList
from seal_tui.widgets.passage_list import label
from seal_tui.widgets.update_progress import UpdateProgress

if TYPE_CHECKING:
    from seal_tui.screens.session import SessionScreen


def numbered(indexes: list[int]) -> str:
    """#1, #2 and #3."""
    names = [f"#{i + 1}" for i in indexes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class SessionDecisions:
    def __init__(self, screen: SessionScreen) -> None:
        self.screen = screen
        self.told_what_trains = True
        """Whether the running update has said what it trains (when it learns the passage alone)."""

    def _learned_by(self, passage: Passage) -> int | None:
        """The version whose update learned the passage (on the session's path), if any."""
        if passage.status != "learned":
            return None
        mine = [u for u in self.screen.opened_session.updates() if u.passage_id == passage.id]
        versions = [u.version for u in mine if u.status == "active"] or [u.version for u in mine]
        return versions[-1] if versions else None

    def _may_change(self, passage: Passage | None) -> bool:
        """Whether the decisions and texts of this passage's cards may change now (warns why not)."""
        if passage is None or not self.screen.access.may_decide():
            return False
        if (version := self._learned_by(passage)) is None:
            return True
        name = label(passage)
        self.screen.notify(
            f"{name} is learned (v{version} trained on these decisions): a decision or a rewrite now would not "
            f"change what v{version} learned. To decide again, roll back to before it: z on an earlier heatmap row.",
            severity="warning",
            timeout=10,
        )
        return False

    def decide_all(self, accept: bool) -> None:
        screen = self.screen
        if (passage := screen.selected()) and self._may_change(passage):
            for edit in screen.opened_session.self_edits(passage.id):
                screen.opened_session.decide(edit.id, accept, "all at once")
            screen.refresh_cards()

    def regenerate(self) -> None:
        screen, access = self.screen, self.screen.access
        if (passage := screen.selected()) and access.may_decide() and access.can_start() and self._may_change(passage):
            screen.work.generate(passage, True)

    def decided(self, message: CandidateDecided) -> None:
        screen = self.screen
        if self._may_change(screen.passage):
            screen.opened_session.decide(message.edit_id, message.accept, message.reason)
            screen.refresh_cards()
            self._focus_next(message.edit_id)
        else:
            screen.refresh_cards()

    def _focus_next(self, decided: int) -> None:
        """Focus the next card still to decide after the one just decided (wrapping round)."""
        cards = self.screen.query_one(CandidateList).cards
        at = next((i for i, c in enumerate(cards) if c.edit_id == decided), None)
        if at is None:
            return
        after = cards[at + 1 :] + cards[:at]
        target = next((c for c in after if c.status == "pending"), None)
        if target is not None:
            target.focus()
            target.scroll_visible(animate=False)

    def reason_requested(self, message: CandidateReasonRequested) -> None:
        """Ask for the reason, then reject; Esc at the question decides nothing."""
        from seal_tui.screens.reject_reason import RejectReasonScreen

        screen = self.screen
        if not self._may_change(screen.passage):
            return

        def rejected(reason: str | None) -> None:
            if reason is not None:
                screen.post_message(CandidateDecided(message.edit_id, False, reason))

        screen.app.push_screen(RejectReasonScreen(), rejected)

    def edit_requested(self, message: CandidateEditRequested) -> None:
        from seal_tui.screens.edit_candidate import EditCandidateScreen

        screen = self.screen
        if not self._may_change(screen.passage):
            return

        def save(text: str | None) -> None:
            if text is None or not self._may_change(screen.passage):
                return
            try:
                screen.opened_session.edit_text(message.edit_id, text)
            except ValueError as exc:
                screen.notify(str(exc), severity="error")
            screen.refresh_cards()

        screen.app.push_screen(EditCandidateScreen(message.text), save)

    def update_starts(self) -> None:
        """An update starts: when its training begins, it says what it trains (training_began)."""
        self.told_what_trains = False

    def training_began(self, passage_id: int) -> None:
        """The running update trains (or has trained) the passage: the first time, say so
        when it learns only the passage itself."""
        if not self.told_what_trains:
            self.told_what_trains = True
            self.say_what_trains(passage_id)

    def say_what_trains(self, passage_id: int | None) -> None:
        """When an update is about to learn only the passage itself, say so and why."""
        session = self.screen.opened_session
        passage = next((p for p in session.passages() if p.id == passage_id), None)
        if passage is None:
            return
        edits = session.self_edits(passage.id)
        accepted = [(i, e) for i, e in enumerate(edits) if e.status == "accepted"]
        if any(session.training_lines(passage, e)[0] for _, e in accepted):
            return
        if not accepted:
            why = "no candidate is accepted"
        else:
            cards = numbered([i for i, _ in accepted])
            verb = "trains none of its lines" if len(accepted) == 1 else "train none of their lines"
            why = (
                f"the accepted {'card' if len(accepted) == 1 else 'cards'} {cards} {verb} "
                "(grounding keeps a line only when the passage states what it says)"
            )
        self.screen.notify(
            f"{label(passage)} learns only the passage itself: {why}.",
            title="What trains",
            severity="warning",
            timeout=12,
        )
        self.screen.query_one(UpdateProgress).note(f"learning {label(passage)} from the passage alone: {why}")
