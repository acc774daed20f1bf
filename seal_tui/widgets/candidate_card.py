"""One self-edit candidate: its strategy, its (streaming) text, the gate's verdict, the reward
filter's scores when it has run, the decision, and whether a person edited the text (o shows
the model's own); or why it could not be written (a served writer's failure)."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import Static

from engine.domain import SelfEdit
from engine.learning.reward_filter import FilterVerdict
from seal_tui.messages import CandidateDecided, CandidateEditRequested, CandidateReasonRequested

MARK = {"pending": ("? pending", "yellow"), "accepted": ("✓ accepted", "green"), "rejected": ("✗ rejected", "red")}


class CandidateCard(Static, can_focus=True):
    """Shows one candidate; a, r and e decide or rewrite it while it has focus, x rejects it
    with a reason, o shows the model's own text of an edited one, A and R decide all the
    passage's cards. The focused card is marked ▶ and framed; the footer lists every card key."""

    BINDINGS = [
        Binding("a", "accept", "Accept"),
        Binding("r", "reject", "Reject"),
        Binding("x", "reject_why", "Why✗", tooltip="Reject with a reason"),
        Binding("e", "edit", "Edit"),
        Binding("o", "original", "Orig", tooltip="Show the model's text of an edited card"),
        Binding("A", "screen.decide_all(True)", "All✓", key_display="A", tooltip="Accept all"),
        Binding("R", "screen.decide_all(False)", "All✗", key_display="R", tooltip="Reject all"),
        # the screen's keys that matter less while deciding, kept but not listed: the card's fit
        Binding("p", "screen.add_paper", "Paper", show=False, tooltip="Add paper"),
        Binding("s", "screen.generate", "Generate", show=False, tooltip="Generate candidates"),
        Binding("f", "screen.filter", "Filter", show=False, tooltip="Run the reward filter on undecided candidates"),
        Binding("down", "sibling(1)", "Next card", show=False),
        Binding("up", "sibling(-1)", "Previous card", show=False),
    ]

    text: reactive[str] = reactive("", layout=True)
    status: reactive[str] = reactive("streaming", init=True)

    def __init__(self, index: int, strategy: str, edit: SelfEdit | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.index = index
        self.strategy = strategy
        self.edit_id: int | None = None
        self.decided_by: str | None = None
        self.reason = ""
        self.verdict: tuple[bool, str] | None = None
        self.lines: tuple[int, int] | None = None
        """(lines an update would train, lines the text has), once it is stored."""
        self.reward: float | None = None
        self.damage: float | None = None
        self.editor_round: int | None = None
        self.original: str | None = None
        """The model's own text when a person edited it (None: not edited)."""
        self.show_original = False
        self.failure = ""
        """Why writing this candidate failed (status "failed"; nothing of it is stored)."""
        if edit is not None:
            self.set_edit(edit)

    # -- state from the engine ------------------------------------------------------
    def append(self, piece: str) -> None:
        self.text += piece

    def set_edit(
        self, edit: SelfEdit, verdict: tuple[bool, str] | None = None, lines: tuple[int, int] | None = None
    ) -> None:
        self.edit_id = edit.id
        self.strategy = edit.strategy
        self.decided_by, self.reason = edit.decided_by, edit.reason
        self.reward, self.damage = edit.reward, edit.damage
        self.editor_round = edit.editor_round
        self.original = edit.original_text if edit.edited else None
        if verdict is not None:
            self.verdict = verdict
        if lines is not None:
            self.lines = lines
        self.text = edit.text
        self.status = edit.status
        self.refresh(layout=True)

    def fail(self, message: str) -> None:
        """Writing this candidate failed: the card says why until it is written again."""
        self.failure = message
        self.status = "failed"
        self.refresh(layout=True)

    def scores(self, reward: float, damage: float) -> None:
        """The reward filter's trial of this candidate has been scored."""
        self.reward, self.damage = reward, damage
        self.refresh(layout=True)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def watch_status(self, old: str, new: str) -> None:
        self.remove_class(f"-{old}")
        self.add_class(f"-{new}")
        self.refresh(layout=True)

    # -- drawing -------------------------------------------------------------------
    def render(self):
        head = Text.assemble(("▶ " if self.has_focus else "", "bold"), (f"#{self.index + 1} ", "bold"))
        head.append(self.strategy, style="italic")
        if self.editor_round is not None:
            head.append(f" · editor r{self.editor_round}", style="magenta")
        if self.status == "streaming":
            head.append("  writing…", style="cyan")
        elif self.status == "failed":
            head.append("  ✗ not written", style="bold red")
        else:
            mark, style = MARK.get(self.status, (self.status, ""))
            head.append(f"  {mark}", style=f"bold {style}")
            if self.decided_by:
                head.append(f" by {self.decided_by}", style=style)
        if self.original is not None:
            head.append("  ✎ edited", style="bold cyan")
        lines = [head, Text(self.text.strip() or "…", style="dim" if self.failure else "")]
        if self.failure:
            lines.append(Text(f"{self.failure}; nothing of it is kept, s or u writes it again", style="red"))
        if self.original is not None and self.show_original:
            lines.append(Text.assemble(("model's text: ", "cyan"), (self.original.strip(), "dim")))
        elif self.original is not None:
            lines.append(Text("edited by a person; o shows the model's text", style="dim cyan"))
        if self.verdict is not None:
            ok, why = self.verdict
            gate = Text.assemble(("gate: ", "dim"), ("pass" if ok else "fail", "green" if ok else "red"))
            if self.reward is not None:
                gate.append_text(self._scores(self.reward))
            gate.append(f" — {why}", style="dim")
            lines.append(gate)
        elif self.reward is not None:
            lines.append(self._scores(self.reward))
        if (trains := self.training_note()) is not None:
            lines.append(trains)
        if (filtered := self.filter_verdict()) is not None:
            lines.append(Text(f"filter: {filtered.why}", style="dim"))
        if self.reason and self.decided_by == "person":
            lines.append(Text(f"note: {self.reason}", style="dim"))
        return Group(*lines)

    def training_note(self) -> Text | None:
        """How much of the text an update would train; a warning when none of it would."""
        if self.lines is None or self.status in ("streaming", "failed"):
            return None
        kept, total = self.lines
        unit = "line" if total == 1 else "lines"
        if total and not kept:
            return Text(
                f"⚠ trains none of its {total} {unit}: each states something the passage does not "
                "(grounding); accepted, only the passage itself trains",
                style="bold yellow",
            )
        return Text(f"trains {kept} of {total} {unit}" if total else "no lines to train", style="dim")

    def filter_verdict(self) -> FilterVerdict | None:
        """The reward filter's verdict when the filter decided this candidate."""
        if self.decided_by != "filter":
            return None
        return FilterVerdict.read(self.reason, self.status == "accepted", self.reward, self.damage)

    def _scores(self, reward: float) -> Text:
        damage = self.damage or 0.0
        return Text.assemble(
            (" · reward ", "dim"),
            (f"{reward:+.2f}", "green" if reward > 0 else "red"),
            (" · damage ", "dim"),
            (f"{damage:+.2f}", "red" if damage > 0 else "green"),
        )

    # -- keys ----------------------------------------------------------------------
    def _ready(self) -> int | None:
        """The card's stored edit id; None (with a warning) while it is still being written."""
        if self.edit_id is None:
            told = "was not written (see why on the card)" if self.failure else "is still being written"
            self.notify(f"This candidate {told}.", severity="warning")
        return self.edit_id

    def action_sibling(self, step: int) -> None:
        cards = [c for c in self.parent.children if isinstance(c, CandidateCard)] if self.parent else []
        at = cards.index(self) + step if self in cards else -1
        if 0 <= at < len(cards):
            cards[at].focus()
            cards[at].scroll_visible(animate=False)

    def action_accept(self) -> None:
        if (edit_id := self._ready()) is not None:
            self.post_message(CandidateDecided(edit_id, True))

    def action_reject(self) -> None:
        if (edit_id := self._ready()) is not None:
            self.post_message(CandidateDecided(edit_id, False))

    def action_reject_why(self) -> None:
        """Reject with a reason: the session screen asks for it where a decision may be made now."""
        if (edit_id := self._ready()) is not None:
            self.post_message(CandidateReasonRequested(edit_id))

    def action_original(self) -> None:
        if self.original is None:
            self.notify("This candidate is the model's own text: nobody has edited it.")
            return
        self.show_original = not self.show_original
        self.refresh(layout=True)

    def action_edit(self) -> None:
        if (edit_id := self._ready()) is not None:
            self.post_message(CandidateEditRequested(edit_id, self.text))
