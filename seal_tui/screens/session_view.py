"""What the session screen shows of the scores, and where focus goes: the heatmap, the stats
line, the details of the heatmap cell under the cursor (a passage's probes, or the drift
set's questions), the metric switch, the model's answers switched on or off for the session,
and Tab between the screen's regions. SessionView belongs to one SessionScreen, whose
handlers call it (so it changes widgets only from them).

The heatmap's cursor picks what the details show and nothing else: the passage a person is
deciding (the passage list's selection, which the cards, s and u act on) stays as it was;
choosing a passage in the list moves the heatmap's cursor to its column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events

from engine.scores.metrics import METRICS
from engine.sessions import session_scoring
from seal_tui.messages import CellSelected, DriftDetail, PassageSelected
from seal_tui.widgets.candidate_card import CandidateCard
from seal_tui.widgets.candidate_list import CandidateList
from seal_tui.widgets.heatmap import Heatmap
from seal_tui.widgets.passage_list import PassageList, label
from seal_tui.widgets.probe_detail import ProbeDetail
from seal_tui.widgets.stats import SessionStats
from seal_tui.widgets.update_progress import UpdateProgress

if TYPE_CHECKING:
    from seal_tui.screens.session import SessionScreen

REGIONS = ("#passages", "#cards", "#heatmap", "#detail")
"""Where Tab goes, in order (the cards: the card focused last, else the first to decide)."""
NO_ANSWERS = "no answers scored: w scores the model's answers"


class SessionView:
    def __init__(self, screen: SessionScreen) -> None:
        self.screen = screen
        self.metric = "answer_nll"
        self.family: str | None = None
        """The probe family the heatmap shows (engine.papers.probes.FAMILIES); None: the session's first."""
        self.last_card = 0
        """The card focused last: Tab comes back to it."""
        self.drift: dict[tuple[int, bool], list] = {}
        """(version, greedy) -> the drift set's questions scored at that version."""

    def refresh_matrix(self) -> None:
        screen = self.screen
        session = screen.opened_session
        passages = session.passages()
        matrix = session.matrix(self.metric, self.family)
        heatmap = screen.query_one(Heatmap)
        answerless = METRICS[self.metric].needs_answer and not session.config.greedy_answers
        heatmap.show(matrix, {p.id: label(p) for p in passages}, NO_ANSWERS if answerless else "")
        screen.query_one(SessionStats).show(matrix, session.current_version, len(passages))
        self.show_detail()

    def show_detail(self) -> None:
        """The details of the heatmap cell under the cursor."""
        screen = self.screen
        session = screen.opened_session
        cell = screen.query_one(Heatmap).cell()
        detail = screen.query_one(ProbeDetail)
        if cell is None:
            detail.show(None, "", None, [])
            return
        version, passage_id = cell
        if passage_id is None:
            self._show_drift(version)
            return
        passage = next((p for p in session.passages() if p.id == passage_id), None)
        if passage is None:
            detail.show(None, "", None, [])
            return
        scores = [s for s in session.scores(version) if s.passage_id == passage_id]
        base = scores if version == 0 else [s for s in session.scores(0) if s.passage_id == passage_id]
        selected = screen.passage
        note = ""
        if selected is not None and selected.id != passage_id:
            note = f"the cards, s and u are for {label(selected)}, the passage list's selection"
        detail.show(passage, label(passage), version, scores, base, session.config.greedy_answers, note)

    def _show_drift(self, version: int) -> None:
        """The drift set's questions at a version: scored per question in a worker (the store
        keeps only the means), once per version while the screen is open."""
        screen = self.screen
        matrix = screen.query_one(Heatmap).matrix
        base, now = (matrix.drift.get(0), matrix.drift.get(version)) if matrix else (None, None)
        change = None if base is None or now is None else now - base
        key = (version, screen.opened_session.config.greedy_answers)
        detail = screen.query_one(ProbeDetail)
        if key in self.drift:
            detail.show_drift(version, self.drift[key], change)
            return
        if screen.opened_session.read_only:
            waiting = "Each question's score needs the model, which a read-only session does not load."
        elif screen.model_state != "ready":
            waiting = "Each question is scored once the model has loaded: move onto the column again then."
        elif doing := screen.work.busy():
            waiting = f"Each question is scored once the running work ends ({doing}): move onto it again then."
        else:
            waiting = "Scoring each question under base and this version…"
            screen.work.score_drift(version)
        detail.show_drift(version, None, change, waiting)

    def drift_detail(self, message: DriftDetail) -> None:
        self.drift[(message.version, message.greedy)] = message.answers
        cell = self.screen.query_one(Heatmap).cell()
        if cell is not None and cell == (message.version, None):
            self.show_detail()

    # Moving a cursor repaints the cursor first; the cards and the probe detail, which read
    # the history and may mount widgets, follow a frame later (keys stay quick under load).
    def passage_selected(self, message: PassageSelected) -> None:
        if message.passage_id != self.screen.passage_id:
            self.screen.passage_id = message.passage_id
            self.screen.call_after_refresh(self._follow_selection, message.passage_id)

    def cell_selected(self, message: CellSelected) -> None:
        self.screen.call_after_refresh(self._follow_cell, message.version, message.passage_id)

    def _follow_selection(self, passage_id: int) -> None:
        screen = self.screen
        if passage_id != screen.passage_id or screen.session is None:
            return  # the selection has moved on; its own callback follows
        screen.refresh_cards()
        screen.query_one(Heatmap).select_column(passage_id)
        self.show_detail()

    def _follow_cell(self, version: int, passage_id: int | None) -> None:
        if self.screen.session is not None and self.screen.query_one(Heatmap).cell() == (version, passage_id):
            self.show_detail()

    # -- keys ----------------------------------------------------------------------------
    def next_metric(self) -> None:
        """The next view of the heatmap: each probe family the session has (questions, recall),
        under each metric."""
        session = self.screen.opened_session
        views = [(f, m) for f in session.families() for m in METRICS.names()]
        current = (self.family or views[0][0], self.metric)
        self.family, self.metric = views[(views.index(current) + 1) % len(views)] if current in views else views[0]
        self.refresh_matrix()
        if METRICS[self.metric].needs_answer and not session.config.greedy_answers:
            self.screen.notify(
                f"{METRICS[self.metric].label} compares the model's answers with the gold ones, and this session "
                "does not score its answers: w scores them."
            )

    def switch_answers(self) -> None:
        """Score the model's answers in this session from now on, and those the versions so
        far lack; or stop scoring them (what is scored stays)."""
        screen = self.screen
        session = screen.opened_session
        on = not session.config.greedy_answers
        if not screen.access.writable():
            return
        if on and not screen.access.can_start():
            return
        if not on and (doing := screen.work.busy()):
            screen.notify(f"Busy {doing}; w after it ends (Esc cancels it).", severity="warning")
            return
        session_scoring.set_greedy_answers(session, on)
        self.refresh_matrix()
        if not on:
            screen.notify("Answers off: the next updates score NLL only; the answers already scored stay.")
            return
        screen.notify(
            "Answers on: every version's answer to each probe shows in the cell details, and m shows F1 "
            "and contains (scoring takes longer: BENCHMARKS.md says how much).",
            title="The model's answers",
        )
        if session_scoring.missing_answers(session):
            screen.query_one(UpdateProgress).start("scoring the model's answers for the versions so far…")
            screen.work.fill_answers()

    def focused(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, CandidateCard):
            self.last_card = event.widget.index

    def focus_region(self, step: int) -> None:
        """Tab: the next region (the passage list, the cards, the heatmap, the cell details)."""
        screen = self.screen
        cards = screen.query_one(CandidateList).cards
        card = next((c for c in cards if c.index == self.last_card), None) or next(
            (c for c in cards if c.status == "pending"), cards[0] if cards else None
        )
        regions = [screen.query_one(PassageList), card, screen.query_one(Heatmap), screen.query_one(ProbeDetail)]
        focused = screen.focused
        at = 1 if isinstance(focused, CandidateCard) else next((i for i, w in enumerate(regions) if w is focused), -1)
        for k in range(1, len(regions) + 1):
            target = regions[(at + step * k) % len(regions)]
            if target is not None and target.display:
                target.focus()
                target.scroll_visible(animate=False)
                return
