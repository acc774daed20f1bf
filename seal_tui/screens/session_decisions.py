"""A person's decisions on the session screen: accept, reject (with a reason), rewrite, all at
once, or write fresh candidates. A mixin for SessionScreen.

A passage already learned keeps the decisions its update trained on: a decision or a rewrite
then would not change what the model learned, and would make the history say it did, so it
is refused with one line saying how to decide again (roll back to before that update).
After a decision focus moves on to the next card still to decide, so the next key acts on it.
Before an update trains, a person is told when it will learn only the passage itself
(no candidate accepted, or none of the accepted ones' lines kept by grounding).
"""

from __future__ import annotations

from engine.domain import Passage
from seal_tui.messages import CandidateDecided, CandidateEditRequested, CandidateReasonRequested
from seal_tui.screens.session_state import SessionState
from seal_tui.widgets.candidate_list import CandidateList
from seal_tui.widgets.passage_list import label
from seal_tui.widgets.update_progress import UpdateProgress


def numbered(indexes: list[int]) -> str:
    """#1, #2 and #3."""
    names = [f"#{i + 1}" for i in indexes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class SessionDecisions(SessionState):
    def _learned_by(self, passage: Passage) -> int | None:
        """The version whose update learned the passage (on the session's path), if any."""
        if passage.status != "learned":
            return None
        mine = [u for u in self.opened_session.updates() if u.passage_id == passage.id]
        versions = [u.version for u in mine if u.status == "active"] or [u.version for u in mine]
        return versions[-1] if versions else None

    def _may_change(self, passage: Passage | None) -> bool:
        """Whether the decisions and texts of this passage's cards may change now (warns why not)."""
        if passage is None or not self._may_decide():
            return False
        if (version := self._learned_by(passage)) is None:
            return True
        name = label(passage)
        self.notify(
            f"{name} is learned (v{version} trained on these decisions): a decision or a rewrite now would not "
            f"change what v{version} learned. To decide again, roll back to before it: z on an earlier heatmap row.",
            severity="warning",
            timeout=10,
        )
        return False

    def action_decide_all(self, accept: bool) -> None:
        if (passage := self._selected()) and self._may_change(passage):
            for edit in self.opened_session.self_edits(passage.id):
                self.opened_session.decide(edit.id, accept, "all at once")
            self.refresh_cards()

    def action_regenerate(self) -> None:
        if (passage := self._selected()) and self._may_decide() and self._can_start() and self._may_change(passage):
            self._generate(passage, True)

    def on_candidate_decided(self, message: CandidateDecided) -> None:
        if self._may_change(self.passage):
            self.opened_session.decide(message.edit_id, message.accept, message.reason)
            self.refresh_cards()
            self._focus_next(message.edit_id)
        else:
            self.refresh_cards()

    def _focus_next(self, decided: int) -> None:
        """Focus the next card still to decide after the one just decided (wrapping round)."""
        cards = self.query_one(CandidateList).cards
        at = next((i for i, c in enumerate(cards) if c.edit_id == decided), None)
        if at is None:
            return
        after = cards[at + 1 :] + cards[:at]
        target = next((c for c in after if c.status == "pending"), None)
        if target is not None:
            target.focus()
            target.scroll_visible(animate=False)

    def on_candidate_reason_requested(self, message: CandidateReasonRequested) -> None:
        """Ask for the reason, then reject; Esc at the question decides nothing."""
        from seal_tui.screens.reject_reason import RejectReasonScreen

        if not self._may_change(self.passage):
            return

        def rejected(reason: str | None) -> None:
            if reason is not None:
                self.post_message(CandidateDecided(message.edit_id, False, reason))

        self.app.push_screen(RejectReasonScreen(), rejected)

    def on_candidate_edit_requested(self, message: CandidateEditRequested) -> None:
        from seal_tui.screens.edit_candidate import EditCandidateScreen

        if not self._may_change(self.passage):
            return

        def save(text: str | None) -> None:
            if text is None or not self._may_change(self.passage):
                return
            try:
                self.opened_session.edit_text(message.edit_id, text)
            except ValueError as exc:
                self.notify(str(exc), severity="error")
            self.refresh_cards()

        self.app.push_screen(EditCandidateScreen(message.text), save)

    def say_what_trains(self, passage_id: int | None) -> None:
        """When an update is about to learn only the passage itself, say so and why."""
        passage = next((p for p in self.opened_session.passages() if p.id == passage_id), None)
        if passage is None:
            return
        edits = self.opened_session.self_edits(passage.id)
        accepted = [(i, e) for i, e in enumerate(edits) if e.status == "accepted"]
        if any(self.opened_session.training_lines(passage, e)[0] for _, e in accepted):
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
        self.notify(
            f"{label(passage)} learns only the passage itself: {why}.",
            title="What trains",
            severity="warning",
            timeout=12,
        )
        self.query_one(UpdateProgress).note(f"learning {label(passage)} from the passage alone: {why}")
