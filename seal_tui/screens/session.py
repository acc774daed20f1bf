"""The session screen: passages, candidate cards, the update, the heatmap and its stats.

It composes the widgets and routes keys and messages to the parts it holds, plain objects
that act through it: its long work, each engine call that takes time in a declared thread
worker that reports through messages (SessionWork, session_workers.py); what the screen may
do now (SessionAccess, session_access.py); the keys that start work or roll back
(SessionActions, session_actions.py); what the scores show and where focus goes
(SessionView, session_view.py); a person's decisions (SessionDecisions,
session_decisions.py); and the engine's events shown (session_events.py). Widgets change
only in the screen's handlers and what those parts do for them. Decisions and edits are
single quick writes, done in place.

A session another process writes opens read-only: no model loads, every key that would write
is refused with one warning, and the view follows what the writer stores. While an update,
the reward filter or an editor round runs, decisions and texts are frozen: what trains is
what was decided before it started, and the cards always show what the store holds.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from engine.papers.probes import kinds_label
from seal_tui.failure_text import failure_text
from seal_tui.host import seal_app
from seal_tui.messages import (
    CandidateDecided,
    CandidateEditRequested,
    CandidateReasonRequested,
    CellSelected,
    DriftDetail,
    EngineEvent,
    LoadStep,
    PaperRequested,
    PassageSelected,
    RuntimeFailed,
    RuntimeReady,
    TrainProgress,
    WorkDone,
)
from seal_tui.screens.session_access import OPEN_FAILURES, WATCH_S, SessionAccess
from seal_tui.screens.session_actions import SessionActions
from seal_tui.screens.session_decisions import SessionDecisions
from seal_tui.screens.session_events import show_event
from seal_tui.screens.session_view import SessionView
from seal_tui.screens.session_workers import WORK, SessionWork
from seal_tui.widgets.candidate_list import CandidateList
from seal_tui.widgets.heatmap import Heatmap
from seal_tui.widgets.passage_list import PassageList, label
from seal_tui.widgets.probe_detail import ProbeDetail
from seal_tui.widgets.stats import SessionStats
from seal_tui.widgets.update_progress import UpdateProgress

if TYPE_CHECKING:
    from engine.domain import Passage
    from engine.sessions.session import Session

MACHINE_S = 2.0
"""How often running work checks whether other programs hold cores."""


class SessionScreen(Screen):
    BINDINGS = [
        Binding("p", "add_paper", "Paper", tooltip="Add paper"),
        Binding("s", "generate", "Generate", tooltip="Generate candidates"),
        Binding("A", "decide_all(True)", "All✓", key_display="A", show=False, tooltip="Accept all"),
        Binding("R", "decide_all(False)", "All✗", key_display="R", show=False, tooltip="Reject all"),
        Binding("g", "regenerate", "Regen", show=False, tooltip="Regenerate"),
        Binding("f", "filter", "Filter", tooltip="Run the reward filter on undecided candidates"),
        Binding("i", "editor", "Editor", show=False, tooltip="Improve the editor: train it on the kept self-edits"),
        Binding("u", "update", "Update", tooltip="Run the update"),
        Binding("escape", "cancel", "Cancel", tooltip="Cancel the running work"),
        Binding("m", "metric", "Metric", show=False, tooltip="Switch metric"),
        Binding(
            "w", "answers", "Answers", show=False, tooltip="The model's answers: score them in this session, or stop"
        ),
        Binding("z", "rollback", "Roll back", show=False, tooltip="Roll back to the selected heatmap row's version"),
        Binding("h", "history", "History", show=False, tooltip="Update history"),
        Binding("b", "sessions", "Sessions", show=False, tooltip="Back to sessions"),
        Binding("tab", "focus_region(1)", show=False),
        Binding("shift+tab", "focus_region(-1)", show=False),
    ]

    def __init__(self, name: str, paper: str | None = None) -> None:
        super().__init__()
        self.session_name = name
        self.first_paper = paper
        self.session: Session | None = None
        """None until on_mount opens it (and when opening failed)."""
        self.passage_id: int | None = None
        self.model_state = "loading"
        self.model_error = ""
        self.model_name = ""
        self.work = SessionWork(self)
        self.access = SessionAccess(self)
        self.view = SessionView(self)
        self.decisions = SessionDecisions(self)
        self.actions = SessionActions(self)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield PassageList(id="passages")
                yield Heatmap(id="heatmap")
                yield SessionStats(id="stats")
                yield ProbeDetail(id="detail")
            with Vertical(id="right"):
                yield CandidateList(id="cards")
                yield UpdateProgress(id="progress")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#passages").border_title = "Passages"
        self.query_one("#cards").border_title = "Candidates"
        try:
            self.session = self.access.open()
        except OPEN_FAILURES as exc:
            self.notify(
                failure_text(exc, seal_app(self).home.path / "seal.db"),
                title=f"Cannot open {self.session_name}",
                severity="error",
                timeout=10,
            )
            self.work.closed = True
            self.app.pop_screen()
            return
        seal_app(self).opened(self)
        self.title = f"seal · {self.session_name}" + (" · read-only" if self.opened_session.read_only else "")
        self.show_subtitle()
        self.refresh_all()
        if self.opened_session.read_only:
            self.model_state = "read-only"
            self.show_subtitle()
            self.access.seen = self.access.signature()
            self.set_interval(WATCH_S, self.access.follow_writer)
            if self.first_paper:
                self.access.writable()
            return
        self.work.load_runtime()
        self.set_interval(MACHINE_S, self._show_machine)
        if self.first_paper:
            self.actions.add_paper(PaperRequested(path=self.first_paper))

    def on_unmount(self) -> None:
        self.release()

    # -- what the app, the parts and tests ask of the screen ----------------------------
    @property
    def opened_session(self) -> Session:
        """The session, for code that runs only once on_mount has opened it (keys, messages,
        workers, timers)."""
        return cast("Session", self.session)

    @property
    def stop(self) -> threading.Event:
        """The running work's stop Event (a quit sets it)."""
        return self.work.stop

    def busy(self) -> str:
        """What the running work is doing ("" when none runs)."""
        return self.work.busy()

    def training(self) -> bool:
        return bool(self.work.running(("update", "editor")))

    def release(self) -> None:
        """Give the session back now, or when the work still running ends (SessionWork.release)."""
        self.work.release()

    def _show_machine(self) -> None:
        """While work runs, say so when other programs hold cores (engine.runtime.cores)."""
        load = self.opened_session.runtime.status().machine if self.model_state == "ready" and self.busy() else None
        if load is None:  # no reading (yet), or a runtime that takes none
            return
        self.query_one(UpdateProgress).machine(load.describe() if load.busy else "")

    # -- state -> widgets ------------------------------------------------------------
    def show_subtitle(self) -> None:
        cfg = self.opened_session.config
        name = self.model_name.removesuffix(".gguf")
        state = "has closed it (reopen to write)" if self.access.writer_gone else "is writing it"
        model = {
            "loading": "loading the model…",
            "ready": name,
            "failed": "model failed to load",
            "read-only": f"read-only: {self.access.writer or 'another process'} {state}",
        }[self.model_state]
        rounds = self.opened_session.editor_rounds()
        editor = f" · editor r{rounds[-1].number}" if rounds and cfg.editor.scale > 0 else ""
        probes = kinds_label(cfg.probes, (q for p in self.opened_session.passages() for q in p.probes))  # as made
        served = f" · written at {urlsplit(cfg.model.writer_url).netloc}" if cfg.model.writer_url else ""
        self.sub_title = (
            f"{cfg.strategy} · {cfg.generation.candidates} candidates · probes {probes}{editor} · {model}{served}"
        )

    @property
    def passage(self) -> Passage | None:
        return next((p for p in self.opened_session.passages() if p.id == self.passage_id), None)

    def refresh_all(self) -> None:
        passages = self.opened_session.passages()
        if self.passage_id not in [p.id for p in passages]:
            self.passage_id = passages[0].id if passages else None
        self.query_one(PassageList).show(passages, self.passage_id)
        self.refresh_cards()
        self.view.refresh_matrix()

    def select_passage_cell(self) -> None:
        """Put the heatmap's cursor on the selected passage's column, and show its details."""
        if self.passage_id is not None:
            self.query_one(Heatmap).select_column(self.passage_id)
        self.view.show_detail()

    def refresh_cards(self) -> None:
        passage = self.passage
        edits = self.opened_session.self_edits(passage.id) if passage else []
        verdicts = (
            {i: (v.ok, v.reason) for i, v in self.opened_session.verdicts(passage, edits).items()} if passage else {}
        )
        cards = self.query_one(CandidateList)
        lines = {e.id: self.opened_session.training_lines(passage, e) for e in edits} if passage else {}
        cards.show(passage.id if passage else None, self.opened_session.strategy.name, edits, verdicts, lines)
        cards.border_title = f"Candidates · {label(passage)} {passage.title}" if passage else "Candidates"

    # -- actions -------------------------------------------------------------------
    def check_action(self, action: str, parameters) -> bool | None:
        """Esc shows in the footer only while there is something to cancel."""
        if action == "cancel":
            return bool(self.busy())
        return True

    def action_add_paper(self) -> None:
        self.actions.ask_paper()

    def selected(self) -> Passage | None:
        passage = self.passage
        if passage is None:
            self.notify("No passage selected: add a paper with p.", severity="warning")
        return passage

    def action_generate(self) -> None:
        self.actions.generate()

    def action_update(self) -> None:
        self.actions.update()

    def action_filter(self) -> None:
        self.actions.filter()

    def action_editor(self) -> None:
        self.actions.editor()

    def action_rollback(self) -> None:
        self.actions.ask_rollback()

    def action_cancel(self) -> None:
        if self.busy():
            self.stop.set()
            self.query_one(UpdateProgress).note(f"cancelling {self.busy()}: it stops after the step in flight…")
            self.notify("Cancelling… the current version stays.", severity="warning")

    def action_history(self) -> None:
        from seal_tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(self.opened_session))

    def action_sessions(self) -> None:
        """Back to the list, giving the session back: its model closed, its writer lock released."""
        if self.busy():
            self.notify("Finish or cancel the running work first.", severity="warning")
        else:
            self.release()
            self.app.pop_screen()

    # -- keys and messages the parts take -------------------------------------------
    def action_metric(self) -> None:
        self.view.next_metric()

    def action_answers(self) -> None:
        self.view.switch_answers()

    def action_focus_region(self, step: int) -> None:
        self.view.focus_region(step)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.view.focused(event)

    def on_passage_selected(self, message: PassageSelected) -> None:
        self.view.passage_selected(message)

    def on_cell_selected(self, message: CellSelected) -> None:
        self.view.cell_selected(message)

    def on_drift_detail(self, message: DriftDetail) -> None:
        self.view.drift_detail(message)

    def action_decide_all(self, accept: bool) -> None:
        self.decisions.decide_all(accept)

    def action_regenerate(self) -> None:
        self.decisions.regenerate()

    def on_candidate_decided(self, message: CandidateDecided) -> None:
        self.decisions.decided(message)

    def on_candidate_reason_requested(self, message: CandidateReasonRequested) -> None:
        self.decisions.reason_requested(message)

    def on_candidate_edit_requested(self, message: CandidateEditRequested) -> None:
        self.decisions.edit_requested(message)

    # -- messages ------------------------------------------------------------------
    def on_load_step(self, message: LoadStep) -> None:
        self.query_one(UpdateProgress).model_loading(message.name, message.index, message.count)

    def on_runtime_ready(self, message: RuntimeReady) -> None:
        self.model_state, self.model_name = "ready", message.name
        self.show_subtitle()
        progress = self.query_one(UpdateProgress)
        progress.loaded()
        if progress.loaded_in is not None and not self.busy():
            progress.idle(f"model loaded in {progress.loaded_in:.0f}s · [b]u[/] learns the selected passage")
        if "GPU" in message.placement:  # on a CPU, as usual, nothing to say
            self.notify(message.placement, title="model on the GPU")

    def on_runtime_failed(self, message: RuntimeFailed) -> None:
        self.model_state, self.model_error = "failed", message.reason
        self.show_subtitle()
        self.query_one(UpdateProgress).loaded()
        self.query_one(UpdateProgress).idle("the model failed to load")

    def on_engine_event(self, message: EngineEvent) -> None:
        show_event(self, message.event)

    def on_train_progress(self, m: TrainProgress) -> None:
        self.query_one(UpdateProgress).step(m.step, m.total, m.epoch, m.loss, m.seconds, m.losses)

    def on_work_done(self, message: WorkDone) -> None:
        if message.kind == "paper" and message.passage_id is not None:
            self.passage_id = message.passage_id
            self.show_subtitle()  # the probe kinds the new passages were given
        self.refresh_all()
        if message.kind == "paper":
            self.select_passage_cell()
        if message.kind == "update":
            self.query_one(Heatmap).select_last_row()
            self.select_passage_cell()
        losses = (
            self.opened_session.updates()[-1].losses
            if message.kind == "update" and self.opened_session.updates()
            else ()
        )
        if not [w for w in self.work.running(WORK) if w.group != message.kind]:  # work started since keeps the lines
            self.query_one(UpdateProgress).idle(message.note, tuple(losses))

    @on(Worker.StateChanged)
    def worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        self.refresh_bindings()
        if event.state == WorkerState.ERROR and worker.error is not None:  # ERROR comes with the error
            reason = failure_text(worker.error, seal_app(self).home.path / "seal.db")
            if worker.group == "model":
                self.post_message(RuntimeFailed(reason))
            self.notify(reason, title=f"Failed {worker.description}", severity="error", timeout=10)
            self.refresh_all()
            self.query_one(UpdateProgress).idle(f"failed {worker.description}")
