"""One self-edit candidate: its strategy, its (streaming) text, the gate's verdict, the reward
filter's scores when it has run, and the decision."""
from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import Static

from engine.domain import SelfEdit
from seal_tui.messages import CandidateDecided, CandidateEditRequested

MARK = {"pending": ("? pending", "yellow"), "accepted": ("✓ accepted", "green"), "rejected": ("✗ rejected", "red")}


class CandidateCard(Static, can_focus=True):
    """Shows one candidate; a, r and e decide or rewrite it while it has focus."""

    BINDINGS = [
        Binding("a", "accept", "Accept"),
        Binding("r", "reject", "Reject"),
        Binding("e", "edit", "Edit"),
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
        self.reward: float | None = None
        self.damage: float | None = None
        self.editor_round: int | None = None
        if edit is not None:
            self.set_edit(edit)

    # -- state from the engine ------------------------------------------------------
    def append(self, piece: str) -> None:
        self.text += piece

    def set_edit(self, edit: SelfEdit, verdict: tuple[bool, str] | None = None) -> None:
        self.edit_id = edit.id
        self.strategy = edit.strategy
        self.decided_by, self.reason = edit.decided_by, edit.reason
        self.reward, self.damage = edit.reward, edit.damage
        self.editor_round = edit.editor_round
        if verdict is not None:
            self.verdict = verdict
        self.text = edit.text
        self.status = edit.status
        self.refresh(layout=True)

    def scores(self, reward: float, damage: float) -> None:
        """The reward filter's trial of this candidate has been scored."""
        self.reward, self.damage = reward, damage
        self.refresh(layout=True)

    def watch_status(self, old: str, new: str) -> None:
        self.remove_class(f"-{old}")
        self.add_class(f"-{new}")
        self.refresh(layout=True)

    # -- drawing -------------------------------------------------------------------
    def render(self):
        head = Text.assemble((f"#{self.index + 1} ", "bold"), (self.strategy, "italic"))
        if self.editor_round is not None:
            head.append(f" · editor r{self.editor_round}", style="magenta")
        if self.status == "streaming":
            head.append("  writing…", style="cyan")
        else:
            mark, style = MARK.get(self.status, (self.status, ""))
            head.append(f"  {mark}", style=f"bold {style}")
            if self.decided_by:
                head.append(f" by {self.decided_by}", style=style)
        lines = [head, Text(self.text.strip() or "…")]
        if self.verdict is not None:
            ok, why = self.verdict
            gate = Text.assemble(("gate: ", "dim"), ("pass" if ok else "fail", "green" if ok else "red"))
            if self.reward is not None:
                gate.append_text(self._scores())
            gate.append(f" — {why}", style="dim")
            lines.append(gate)
        elif self.reward is not None:
            lines.append(self._scores())
        if self.decided_by == "filter" and ": " in self.reason:
            lines.append(Text(f"filter: {self.reason.split(': ', 1)[1]}", style="dim"))
        if self.reason and self.decided_by == "person":
            lines.append(Text(f"note: {self.reason}", style="dim"))
        return Group(*lines)

    def _scores(self) -> Text:
        damage = self.damage or 0.0
        return Text.assemble(
            (" · reward ", "dim"), (f"{self.reward:+.2f}", "green" if self.reward > 0 else "red"),
            (" · damage ", "dim"), (f"{damage:+.2f}", "red" if damage > 0 else "green"),
        )

    # -- keys ----------------------------------------------------------------------
    def _ready(self) -> bool:
        if self.edit_id is None:
            self.notify("This candidate is still being written.", severity="warning")
            return False
        return True

    def action_sibling(self, step: int) -> None:
        cards = [c for c in self.parent.children if isinstance(c, CandidateCard)] if self.parent else []
        at = cards.index(self) + step if self in cards else -1
        if 0 <= at < len(cards):
            cards[at].focus()
            cards[at].scroll_visible(animate=False)

    def action_accept(self) -> None:
        if self._ready():
            self.post_message(CandidateDecided(self.edit_id, True))

    def action_reject(self) -> None:
        if self._ready():
            self.post_message(CandidateDecided(self.edit_id, False))

    def action_edit(self) -> None:
        if self._ready():
            self.post_message(CandidateEditRequested(self.edit_id, self.text))
