"""Every probe of one passage, held-out and reward alike, each labelled, with its gold
answer and its answer NLL under the base model and under the selected version (and the
model's greedy answer under each when the session scores them), in a scrollable area: Tab
to it, then the arrows scroll."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from engine.domain import Passage, Score, version_label
from seal_tui.render import WORSE

ROLES = {"heldout": ("held-out", "bold cyan"), "reward": ("reward", "bold magenta")}
ROLE_NOTE = (
    "held-out probes make the heatmap; reward probes steer the filter and the training check. "
    "? asks a question after the topic; … ____ recalls the passage: its sentence after the title, continued."
)
GREEDY_OFF = (
    "What the model answers is not shown: greedy answers are off in this session. A session "
    "made with answers on (the new-session form) or `seal run ... --greedy` scores them, before and after."
)


def _nll(before: Score | None, after: Score | None, version: int) -> Text:
    """ "NLL base 6.00 → v2 2.00 (-4.00)", red when the version is worse than base."""
    out = Text("NLL base ")
    out.append("·" if before is None else f"{before.answer_nll:.2f}", style="bold")
    if version == 0:
        return out
    out.append(f" → {version_label(version)} ")
    out.append("·" if after is None else f"{after.answer_nll:.2f}", style="bold")
    if before is not None and after is not None:
        change = after.answer_nll - before.answer_nll
        out.append(f" ({change:+.2f})", style="bold red" if change > WORSE else "green" if change < -WORSE else "")
    return out


def _said(before: Score | None, after: Score | None, version: int) -> Text | None:
    """The greedy answers under base and the version, when scored."""
    answers = [(0, before)] + ([] if version == 0 else [(version, after)])
    if all(s is None or s.answer is None for _, s in answers):
        return None
    out = Text("says ")
    for i, (v, s) in enumerate(answers):
        out.append(" → " if i else "")
        out.append(f"{version_label(v)} ")
        answer = "·" if s is None or s.answer is None else repr(s.answer.strip()[:60])
        out.append(answer, style="green" if s is not None and s.contains else "")
    return out


def probe_text(
    passage: Passage, label: str, version: int, scores: list[Score], base_scores: list[Score], greedy: bool
) -> Text:
    """The passage's probes, held-out ones first (those are what the heatmap shows)."""
    at = {s.probe_id: s for s in scores}
    base = {s.probe_id: s for s in base_scores}
    where = version_label(version) if version == 0 else f"{version_label(version)} vs base"
    text = Text.assemble((f"{label} ", "bold"), passage.title, (f"  · {where}", "dim"))
    probes = sorted(passage.probes, key=lambda q: q.role != "heldout")
    for probe in probes:
        role, style = ROLES.get(probe.role, (probe.role, "bold"))
        text.append(f"\n{role} ", style=style)
        text.append(f"… {probe.question} ____" if probe.kind == "recall" else f"? {probe.question}")
        text.append("\n  gold ")
        text.append(probe.answer, style="green")
        text.append(" · ")
        text.append_text(_nll(base.get(probe.id), at.get(probe.id), version))
        if (said := _said(base.get(probe.id), at.get(probe.id), version)) is not None:
            text.append("\n  ")
            text.append_text(said)
    if not passage.probes:
        text.append("\n(no probes)", style="dim")
    text.append(f"\n{ROLE_NOTE}", style="dim")
    if not greedy:
        text.append(f"\n{GREEDY_OFF}", style="dim italic")
    return text


class ProbeDetail(VerticalScroll, can_focus=True):
    """The probes of the passage in the heatmap's selected cell, at that cell's version."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.body = Static(Text("Select a passage or a heatmap cell to see its probes.", style="dim"))
        self.text = ""
        """What it shows, as plain text."""

    def compose(self) -> ComposeResult:
        yield self.body

    def show(
        self,
        passage: Passage | None,
        label: str,
        version: int | None,
        scores: list[Score],
        base_scores: Sequence[Score] = (),
        greedy: bool = False,
    ) -> None:
        """scores: the passage's scores at `version`; base_scores: at the base model."""
        if passage is None or version is None:
            shown = Text("Select a passage or a heatmap cell to see its probes.", style="dim")
        else:
            shown = probe_text(passage, label, version, scores, list(base_scores), greedy)
        self.text = shown.plain
        self.body.update(shown)
