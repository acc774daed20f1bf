"""Every probe of one passage, held-out and reward alike, each labelled, with its gold
answer and its answer NLL under the base model and under the selected version (and the
model's greedy answer under each when the session scores them), in a scrollable area: Tab
to it, then the arrows scroll. On the heatmap's drift column: the drift set's questions, each
under base and the version."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from engine.domain import Passage, Score, version_label
from engine.learning.drift import DriftAnswer, drift_questions
from seal_tui.render import WORSE

ROLES = {"heldout": ("held-out", "bold cyan"), "reward": ("reward", "bold magenta")}
ROLE_NOTE = (
    "held-out probes make the heatmap; reward probes steer the filter and the training check. "
    "? asks a question after the topic; … ____ recalls the passage: its sentence after the title, continued."
)
GREEDY_OFF = (
    "What the model answers is not shown: this session does not score its answers. "
    "w scores them, for the versions so far and every update to come."
)
DRIFT_NOTE = (
    "General-knowledge questions no session learns: a version that answers them worse has "
    "changed the whole model, apart from what it learned. Lower NLL is better."
)


def _nll(before: float | None, after: float | None, version: int) -> Text:
    """ "NLL base 6.00 → v2 2.00 (-4.00)", red when the version is worse than base."""
    out = Text("NLL base ")
    out.append("·" if before is None else f"{before:.2f}", style="bold")
    if version == 0:
        return out
    out.append(f" → {version_label(version)} ")
    out.append("·" if after is None else f"{after:.2f}", style="bold")
    if before is not None and after is not None:
        change = after - before
        word = "worse" if change > WORSE else "better" if change < -WORSE else "same"
        out.append(
            f" ({change:+.2f}, {word})", style="bold red" if change > WORSE else "green" if change < -WORSE else ""
        )
    return out


def _score_nll(score: Score | None) -> float | None:
    return None if score is None else score.answer_nll


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
    passage: Passage,
    label: str,
    version: int,
    scores: list[Score],
    base_scores: list[Score],
    greedy: bool,
    note: str = "",
) -> Text:
    """The passage's probes, held-out ones first (those are what the heatmap shows); `note`
    goes under the title."""
    at = {s.probe_id: s for s in scores}
    base = {s.probe_id: s for s in base_scores}
    where = version_label(version) if version == 0 else f"{version_label(version)} vs base"
    text = Text.assemble((f"{label} ", "bold"), passage.title, (f"  · {where}", "dim"))
    if note:
        text.append(f"\n{note}", style="yellow")
    probes = sorted(passage.probes, key=lambda q: q.role != "heldout")
    for probe in probes:
        role, style = ROLES.get(probe.role, (probe.role, "bold"))
        text.append(f"\n{role} ", style=style)
        text.append(f"… {probe.question} ____" if probe.kind == "recall" else f"? {probe.question}")
        text.append("\n  gold ")
        text.append(probe.answer, style="green")
        text.append(" · ")
        text.append_text(_nll(_score_nll(base.get(probe.id)), _score_nll(at.get(probe.id)), version))
        if (said := _said(base.get(probe.id), at.get(probe.id), version)) is not None:
            text.append("\n  ")
            text.append_text(said)
    if not passage.probes:
        text.append("\n(no probes)", style="dim")
    text.append(f"\n{ROLE_NOTE}", style="dim")
    if not greedy:
        text.append(f"\n{GREEDY_OFF}", style="dim italic")
    return text


def drift_text(version: int, answers: list[DriftAnswer] | None, change: float | None, waiting: str) -> Text:
    """The drift set's report questions at a version against base: each one's gold answer
    and NLL (and the greedy answers when scored); without per-question scores (None), the
    questions and `waiting`, which says when they come."""
    where = version_label(version) if version == 0 else f"{version_label(version)} vs base"
    text = Text.assemble(("drift set", "bold"), (f"  · {where}", "dim"))
    if change is not None and version != 0:
        word = "worse" if change > WORSE else "better" if change < -WORSE else "same"
        text.append(f" · mean {change:+.2f} ({word})", style="bold red" if change > WORSE else "")
    text.append(f"\n{DRIFT_NOTE}", style="dim")
    if answers is None:
        text.append(f"\n{waiting}", style="dim italic")
        rows = [DriftAnswer(t, q, a, float("nan"), float("nan")) for t, q, a in drift_questions("report")]
    else:
        rows = answers
    for row in rows:
        text.append("\n? ", style="bold")
        text.append(f"{row.question} ", style="")
        text.append(f"({row.topic})", style="dim")
        text.append("\n  gold ")
        text.append(row.answer, style="green")
        if answers is not None:
            text.append(" · ")
            text.append_text(_nll(row.base_nll, row.nll, version))
        if row.said is not None or row.base_said is not None:
            said = Text("\n  says ")
            said.append(f"base {row.base_said.strip()[:60]!r}" if row.base_said is not None else "base ·")
            if version != 0:
                said.append(f" → {version_label(version)} ")
                said.append("·" if row.said is None else repr(row.said.strip()[:60]))
            text.append_text(said)
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
        note: str = "",
    ) -> None:
        """scores: the passage's scores at `version`; base_scores: at the base model; note: a
        line under the title (which passage the keys act on, when it is another)."""
        if passage is None or version is None:
            shown = Text("Select a passage or a heatmap cell to see its probes.", style="dim")
        else:
            shown = probe_text(passage, label, version, scores, list(base_scores), greedy, note)
        self.put(shown)

    def show_drift(
        self, version: int, answers: list[DriftAnswer] | None, change: float | None, waiting: str = ""
    ) -> None:
        """The drift set's questions at `version` (see drift_text)."""
        self.put(drift_text(version, answers, change, waiting))

    def put(self, shown: Text) -> None:
        self.text = shown.plain
        self.body.update(shown)
