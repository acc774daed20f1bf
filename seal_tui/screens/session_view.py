"""What the session screen shows of the scores, and where focus goes: the heatmap, the stats
line, the details of the heatmap cell under the cursor (a passage's probes, or the drift
set's questions), the metric switch, the model's answers switched on or off for the session,
and Tab between the screen's regions. A mixin for SessionScreen.

The heatmap's cursor picks what the details show and nothing else: the passage a person is
deciding (the passage list's selection, which the cards, s and u act on) stays as it was;
choosing a passage in the list moves the heatmap's cursor to its column.
"""

from __future__ import annotations

from textual import events

from engine.metrics import METRICS
from seal_tui.messages import CellSelected, DriftDetail, PassageSelected
from seal_tui.screens.session_state import SessionState
from seal_tui.widgets.candidate_card import CandidateCard
from seal_tui.widgets.candidate_list import CandidateList
from seal_tui.widgets.heatmap import Heatmap
from seal_tui.widgets.passage_list import PassageList, label
from seal_tui.widgets.probe_detail import ProbeDetail
from seal_tui.widgets.stats import SessionStats
from seal_tui.widgets.update_progress import UpdateProgress

REGIONS = ("#passages", "#cards", "#heatmap", "#detail")
"""Where Tab goes, in order (the cards: the card focused last, else the first to decide)."""
NO_ANSWERS = "no answers scored: w scores the model's answers"


class SessionView(SessionState):
    family: str | None
    _last_card: int
    _drift: dict[tuple[int, bool], list]

    def refresh_matrix(self) -> None:
        passages = self.opened_session.passages()
        matrix = self.opened_session.matrix(self.metric, self.family)
        heatmap = self.query_one(Heatmap)
        answerless = METRICS[self.metric].needs_answer and not self.opened_session.config.greedy_answers
        heatmap.show(matrix, {p.id: label(p) for p in passages}, NO_ANSWERS if answerless else "")
        self.query_one(SessionStats).show(matrix, self.opened_session.current_version, len(passages))
        self.show_detail()

    def show_detail(self) -> None:
        """The details of the heatmap cell under the cursor."""
        cell = self.query_one(Heatmap).cell()
        detail = self.query_one(ProbeDetail)
        if cell is None:
            detail.show(None, "", None, [])
            return
        version, passage_id = cell
        if passage_id is None:
            self._show_drift(version)
            return
        passage = next((p for p in self.opened_session.passages() if p.id == passage_id), None)
        if passage is None:
            detail.show(None, "", None, [])
            return
        scores = [s for s in self.opened_session.scores(version) if s.passage_id == passage_id]
        base = scores if version == 0 else [s for s in self.opened_session.scores(0) if s.passage_id == passage_id]
        selected = self.passage
        note = ""
        if selected is not None and selected.id != passage_id:
            note = f"the cards, s and u are for {label(selected)}, the passage list's selection"
        detail.show(passage, label(passage), version, scores, base, self.opened_session.config.greedy_answers, note)

    def _show_drift(self, version: int) -> None:
        """The drift set's questions at a version: scored per question in a worker (the store
        keeps only the means), once per version while the screen is open."""
        matrix = self.query_one(Heatmap).matrix
        base, now = (matrix.drift.get(0), matrix.drift.get(version)) if matrix else (None, None)
        change = None if base is None or now is None else now - base
        key = (version, self.opened_session.config.greedy_answers)
        detail = self.query_one(ProbeDetail)
        if key in self._drift:
            detail.show_drift(version, self._drift[key], change)
            return
        if self.opened_session.read_only:
            waiting = "Each question's score needs the model, which a read-only session does not load."
        elif self.model_state != "ready":
            waiting = "Each question is scored once the model has loaded: move onto the column again then."
        elif self.busy():
            waiting = f"Each question is scored once the running work ends ({self.busy()}): move onto it again then."
        else:
            waiting = "Scoring each question under base and this version…"
            self._score_drift(version)
        detail.show_drift(version, None, change, waiting)

    def on_drift_detail(self, message: DriftDetail) -> None:
        self._drift[(message.version, message.greedy)] = message.answers
        cell = self.query_one(Heatmap).cell()
        if cell is not None and cell == (message.version, None):
            self.show_detail()

    # Moving a cursor repaints the cursor first; the cards and the probe detail, which read
    # the history and may mount widgets, follow a frame later (keys stay quick under load).
    def on_passage_selected(self, message: PassageSelected) -> None:
        if message.passage_id != self.passage_id:
            self.passage_id = message.passage_id
            self.call_after_refresh(self._follow_selection, message.passage_id)

    def on_cell_selected(self, message: CellSelected) -> None:
        self.call_after_refresh(self._follow_cell, message.version, message.passage_id)

    def _follow_selection(self, passage_id: int) -> None:
        if passage_id != self.passage_id or self.session is None:
            return  # the selection has moved on; its own callback follows
        self.refresh_cards()
        self.query_one(Heatmap).select_column(passage_id)
        self.show_detail()

    def _follow_cell(self, version: int, passage_id: int | None) -> None:
        if self.session is not None and self.query_one(Heatmap).cell() == (version, passage_id):
            self.show_detail()

    # -- keys ----------------------------------------------------------------------------
    def action_metric(self) -> None:
        """The next view of the heatmap: each probe family the session has (questions, recall),
        under each metric."""
        views = [(f, m) for f in self.opened_session.families() for m in METRICS.names()]
        current = (self.family or views[0][0], self.metric)
        self.family, self.metric = views[(views.index(current) + 1) % len(views)] if current in views else views[0]
        self.refresh_matrix()
        if METRICS[self.metric].needs_answer and not self.opened_session.config.greedy_answers:
            self.notify(
                f"{METRICS[self.metric].label} compares the model's answers with the gold ones, and this session "
                "does not score its answers: w scores them."
            )

    def action_answers(self) -> None:
        """Score the model's answers in this session from now on, and those the versions so
        far lack; or stop scoring them (what is scored stays)."""
        on = not self.opened_session.config.greedy_answers
        if not self._writable():
            return
        if on and not self._can_start():
            return
        if not on and (doing := self.busy()):
            self.notify(f"Busy {doing}; w after it ends (Esc cancels it).", severity="warning")
            return
        self.opened_session.set_greedy_answers(on)
        self.refresh_matrix()
        if not on:
            self.notify("Answers off: the next updates score NLL only; the answers already scored stay.")
            return
        self.notify(
            "Answers on: every version's answer to each probe shows in the cell details, and m shows F1 "
            "and contains (scoring takes longer: BENCHMARKS.md says how much).",
            title="The model's answers",
        )
        if self.opened_session.missing_answers():
            self.query_one(UpdateProgress).start("scoring the model's answers for the versions so far…")
            self._fill_answers()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, CandidateCard):
            self._last_card = event.widget.index

    def action_focus_region(self, step: int) -> None:
        """Tab: the next region (the passage list, the cards, the heatmap, the cell details)."""
        cards = self.query_one(CandidateList).cards
        card = next((c for c in cards if c.index == self._last_card), None) or next(
            (c for c in cards if c.status == "pending"), cards[0] if cards else None
        )
        regions = [self.query_one(PassageList), card, self.query_one(Heatmap), self.query_one(ProbeDetail)]
        focused = self.focused
        at = 1 if isinstance(focused, CandidateCard) else next((i for i, w in enumerate(regions) if w is focused), -1)
        for k in range(1, len(regions) + 1):
            target = regions[(at + step * k) % len(regions)]
            if target is not None and target.display:
                target.focus()
                target.scroll_visible(animate=False)
                return
