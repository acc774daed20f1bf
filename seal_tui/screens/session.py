"""The session screen: passages, candidate cards, the update, the heatmap and its stats.

It composes the widgets and routes their messages; every engine call that takes time runs
in a declared thread worker (session_workers.py) that reports through messages, and the
widgets change only in the handlers below and in the mixins': what the scores show and where
focus goes (session_view.py), a person's decisions (session_decisions.py), and what the
screen may do now (session_access.py). Decisions and edits are single quick writes, done in place.

A session another process writes opens read-only: no model loads, every key that would write
is refused with one warning, and the view follows what the writer stores. While an update,
the reward filter or an editor round runs, decisions and texts are frozen: what trains is
what was decided before it started, and the cards always show what the store holds.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from engine import events as ev
from engine.domain import version_label
from engine.probes import kinds_label
from seal_tui.failure_text import failure_text
from seal_tui.host import seal_app
from seal_tui.messages import (
    EngineEvent,
    LoadStep,
    PaperRequested,
    RuntimeFailed,
    RuntimeReady,
    TrainProgress,
    WorkDone,
)
from seal_tui.screens.session_access import OPEN_FAILURES, WATCH_S, SessionAccess
from seal_tui.screens.session_decisions import SessionDecisions
from seal_tui.screens.session_view import SessionView
from seal_tui.screens.session_workers import WORK, SessionWorkers
from seal_tui.widgets.candidate_list import CandidateList
from seal_tui.widgets.heatmap import Heatmap
from seal_tui.widgets.passage_list import PassageList, label
from seal_tui.widgets.probe_detail import ProbeDetail
from seal_tui.widgets.stats import SessionStats
from seal_tui.widgets.update_progress import UpdateProgress

MACHINE_S = 2.0
"""How often running work checks whether other programs hold cores."""


class SessionScreen(SessionView, SessionDecisions, SessionAccess, SessionWorkers, Screen):
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
        self.session = None
        self.passage_id: int | None = None
        self.metric = "answer_nll"
        self.family: str | None = None
        """The probe family the heatmap shows (engine.probes.FAMILIES); None: the session's first."""
        self.model_state = "loading"
        self.model_error = ""
        self.model_name = ""
        self.stop = threading.Event()
        self.writer = ""
        """Who writes the session when it is open read-only ("process 123 (seal run)")."""
        self.writer_gone = False
        self.closed = False
        self._guard = threading.Lock()
        self._working = 0
        self._seen = None
        self._last_card = 0
        """The card focused last: Tab comes back to it."""
        self._drift: dict[tuple[int, bool], list] = {}
        """(version, greedy) -> the drift set's questions scored at that version."""
        self._told_what_trains = True
        """Whether the running update has said what it trains (when it learns the passage alone)."""

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
            self.session = self._open()
        except OPEN_FAILURES as exc:
            self.notify(
                failure_text(exc, seal_app(self).home.path / "seal.db"),
                title=f"Cannot open {self.session_name}",
                severity="error",
                timeout=10,
            )
            self.closed = True
            self.app.pop_screen()
            return
        seal_app(self).opened(self)
        self.title = f"seal · {self.session_name}" + (" · read-only" if self.opened_session.read_only else "")
        self._subtitle()
        self.refresh_all()
        if self.opened_session.read_only:
            self.model_state = "read-only"
            self._subtitle()
            self._seen = self._signature()
            self.set_interval(WATCH_S, self._follow_writer)
            if self.first_paper:
                self._writable()
            return
        self.load_runtime()
        self.set_interval(MACHINE_S, self._show_machine)
        if self.first_paper:
            self.add_paper(PaperRequested(path=self.first_paper))

    def on_unmount(self) -> None:
        self.release()

    def _show_machine(self) -> None:
        """While work runs, say so when other programs hold cores (engine.runtime.cores)."""
        cpu = getattr(self.opened_session.runtime, "cpu", None) if self.model_state == "ready" else None
        if cpu is None or not self.busy():
            return
        load = cpu.latest()
        self.query_one(UpdateProgress).machine(load.describe() if load is not None and load.busy else "")

    # -- state -> widgets ------------------------------------------------------------
    def _subtitle(self) -> None:
        cfg = self.opened_session.config
        name = self.model_name.removesuffix(".gguf")
        state = "has closed it (reopen to write)" if self.writer_gone else "is writing it"
        model = {
            "loading": "loading the model…",
            "ready": name,
            "failed": "model failed to load",
            "read-only": f"read-only: {self.writer or 'another process'} {state}",
        }[self.model_state]
        rounds = self.opened_session.editor_rounds()
        editor = f" · editor r{rounds[-1].number}" if rounds and cfg.editor.scale > 0 else ""
        probes = kinds_label(cfg.probes, (q for p in self.opened_session.passages() for q in p.probes))  # as made
        served = f" · written at {urlsplit(cfg.model.writer_url).netloc}" if cfg.model.writer_url else ""
        self.sub_title = (
            f"{cfg.strategy} · {cfg.generation.candidates} candidates · probes {probes}{editor} · {model}{served}"
        )

    @property
    def passage(self):
        return next((p for p in self.opened_session.passages() if p.id == self.passage_id), None)

    def refresh_all(self) -> None:
        passages = self.opened_session.passages()
        if self.passage_id not in [p.id for p in passages]:
            self.passage_id = passages[0].id if passages else None
        self.query_one(PassageList).show(passages, self.passage_id)
        self.refresh_cards()
        self.refresh_matrix()

    def select_passage_cell(self) -> None:
        """Put the heatmap's cursor on the selected passage's column, and show its details."""
        if self.passage_id is not None:
            self.query_one(Heatmap).select_column(self.passage_id)
        self.show_detail()

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

    def add_paper(self, request: PaperRequested) -> None:
        if self._can_start(needs_model=self.opened_session.config.probes == "qa"):
            self.query_one(UpdateProgress).stage("reading the paper…")
            self._add_paper(request)

    def action_add_paper(self) -> None:
        from seal_tui.screens.add_paper import AddPaperScreen

        if not self._writable():
            return
        if doing := self.busy():  # keys meant for the screen would land in the dialog's fields
            self.notify(f"Busy {doing}; add the paper after it ends (Esc cancels it).", severity="warning")
            return
        cfg = self.opened_session.config

        def added(request: PaperRequested | None) -> None:
            if request:
                self.add_paper(request)

        self.app.push_screen(AddPaperScreen(cfg.passage_tokens, cfg.max_passages), added)

    def _selected(self):
        passage = self.passage
        if passage is None:
            self.notify("No passage selected: add a paper with p.", severity="warning")
        return passage

    def action_generate(self) -> None:
        if (passage := self._selected()) and self._can_start():
            if self.opened_session.config.generation.candidates - len(self.opened_session.self_edits(passage.id)) <= 0:
                self.notify("This passage has its candidates; g writes fresh ones.")
                return
            self._generate(passage, False)

    def action_update(self) -> None:
        if (passage := self._selected()) and self._can_start():
            if passage.status == "learned":
                self.notify(f"{label(passage)} is already learned.", severity="warning")
                return
            missing = self.opened_session.config.generation.candidates - len(self.opened_session.self_edits(passage.id))
            if passage.status == "new" and missing > 0:
                # Whatever the accept policy, a person sees what the model wrote before it trains:
                # u writes the candidates and stops; u again learns (undecided ones to the policy).
                self.query_one(UpdateProgress).start(f"writing candidates for {label(passage)} to review…")
                self._generate(passage, False, review=True)
                return
            seen = [p for p in self.opened_session.passages() if p.position <= passage.position]
            probes = {p.id: len(p.probes) for p in self.opened_session.passages()}
            self.query_one(UpdateProgress).begin_update(
                f"learning {label(passage)}…", sum(len(p.probes) for p in seen), probes
            )
            self._told_what_trains = False
            self._update(passage)

    def action_filter(self) -> None:
        if (passage := self._selected()) and self._can_start():
            if not any(e.status == "pending" for e in self.opened_session.self_edits(passage.id)):
                self.notify("No undecided candidates here: the filter judges pending cards only.", severity="warning")
                return
            self.query_one(UpdateProgress).start(f"reward filter on {label(passage)}…")
            self._filter(passage)

    def action_editor(self) -> None:
        from engine.editor import EditorError, check_enough, kept_edits

        if not self._can_start():
            return
        kept = len(kept_edits(self.opened_session))
        try:
            check_enough(kept, self.opened_session.config.editor.min_pairs)
        except EditorError as exc:
            self.notify(f"{str(exc)[0].upper()}{str(exc)[1:]}.", severity="warning")
            return
        self.query_one(UpdateProgress).start(f"editor round on {kept} kept self-edits…")
        self._editor_round()

    def action_rollback(self) -> None:
        if not self._writable():
            return
        matrix = self.query_one(Heatmap).matrix
        if matrix is None or not matrix.rows or self.busy():
            if self.busy():
                self.notify("Finish or cancel the running work first.", severity="warning")
            return
        version = matrix.rows[self.query_one(Heatmap).cursor[0]]
        if version == self.opened_session.current_version:
            self.notify(
                f"{version_label(version)} is already the current version: pick an earlier row.", severity="warning"
            )
            return
        path = self.opened_session.path_to(version)
        leaving = [u.version for u in self.opened_session.updates() if u.status == "active" and u.version not in path]
        names = ", ".join(f"v{x}" for x in leaving)
        stay = f" {names} {'stay' if len(leaving) > 1 else 'stays'} in the history as abandoned." if leaving else ""
        from seal_tui.screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes and self._writable() and not self.busy():
                self.rollback(version)

        self.app.push_screen(
            ConfirmScreen(f"Make {version_label(version)} current again?{stay}", "Roll back (y)", "Keep (n)"), answer
        )

    def rollback(self, version: int) -> None:
        """A quick write in place; generation then follows the version in a worker."""
        self.opened_session.rollback(version, self._reporter())
        self.refresh_all()
        self.query_one(Heatmap).select_version(version)
        self.show_detail()
        if self.model_state == "ready" and self._can_start():
            self.query_one(UpdateProgress).stage(f"switching generation to {version_label(version)}…")
            self._sync_generation()

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

    # -- messages ------------------------------------------------------------------
    def on_load_step(self, message: LoadStep) -> None:
        self.query_one(UpdateProgress).model_loading(message.name, message.index, message.count)

    def on_runtime_ready(self, message: RuntimeReady) -> None:
        self.model_state, self.model_name = "ready", message.name
        self._subtitle()
        progress = self.query_one(UpdateProgress)
        progress.loaded()
        if progress.loaded_in is not None and not self.busy():
            progress.idle(f"model loaded in {progress.loaded_in:.0f}s · [b]u[/] learns the selected passage")
        if "GPU" in message.placement:  # on a CPU, as usual, nothing to say
            self.notify(message.placement, title="model on the GPU")

    def on_runtime_failed(self, message: RuntimeFailed) -> None:
        self.model_state, self.model_error = "failed", message.reason
        self._subtitle()
        self.query_one(UpdateProgress).loaded()
        self.query_one(UpdateProgress).idle("the model failed to load")

    def on_engine_event(self, message: EngineEvent) -> None:
        event, cards, progress = message.event, self.query_one(CandidateList), self.query_one(UpdateProgress)
        progress.engine_event(event, time.monotonic())
        match event:
            case ev.Generating(passage_id=pid):
                if cards.failure is not None and cards.failure.passage_id == pid:
                    cards.failure = None  # written again: the failed card gives way
                if pid == self.passage_id:
                    self.refresh_cards()
                progress.began(event)
            case ev.Stage():
                progress.began(event)
                if isinstance(event, ev.Training | ev.EpochKept) and not self._told_what_trains:
                    self._told_what_trains = True
                    self.say_what_trains(event.passage_id)
                if isinstance(event, ev.Filtering):
                    self.notify(f"Reward filter: {event.detail}.", title="Estimate")
            case ev.Token(passage_id=pid, index=index, text=text):
                progress.candidate(index)
                if pid == cards.passage_id:
                    cards.card(index).append(text)
            case ev.CandidateDone(passage_id=pid, index=index, edit_id=eid, text=text):
                progress.candidate_done(event)
                if pid == cards.passage_id:
                    card = cards.card(index)
                    card.edit_id, card.text, card.status = eid, text, "pending"
            case ev.CandidateFailed():  # the worker's failure notifies; the card keeps the message
                cards.failed(event)
            case ev.GateDecision(edit_id=eid, accepted=ok, decided_by=by, reason=reason):
                if (decided := cards.by_edit(eid)) is not None:
                    decided.decided_by, decided.reason = by, reason
                    decided.status = "accepted" if ok else "rejected"
                    decided.refresh(layout=True)
            case ev.TrialDone(edit_id=eid, reward=reward, damage=damage):
                progress.trial(event)
                if (tried := cards.by_edit(eid)) is not None:
                    tried.scores(reward, damage)
            case ev.RolledBack(version=v, abandoned=gone):
                left = f"; abandoned: {', '.join(f'v{x}' for x in gone)}" if gone else ""
                self.notify(f"{version_label(v)} is current again{left}.")
            case ev.AdapterSwapped(version=v, seconds=secs):
                progress.note(f"generation now uses {version_label(v)} ({secs:.1f}s)")
            case ev.UpdateDone(version=v, loss_first=a, loss_last=b):
                self.notify(f"v{v} trained: loss {a:.3f} → {b:.3f}")
            case ev.EditorRoundDone(number=n, pairs=pairs, trigger=trigger, loss_first=a, loss_last=b):
                how = "automatic " if trigger == "auto" else ""
                self.notify(
                    f"Editor round {n} ({how}on {pairs} kept self-edits): loss {a:.3f} → {b:.3f}. "
                    "New candidates are written with it; h compares rounds.",
                    title="Editor",
                )
                self._subtitle()
            case ev.ScoresReady():
                self.refresh_matrix()
            case ev.Cancelled(what=what):
                again = " Nothing of it is kept: the next update starts over from step 1." if what == "update" else ""
                self.notify(
                    f"The {what} was cancelled; version v{self.opened_session.current_version} stays.{again}",
                    severity="warning",
                )

    def on_train_progress(self, m: TrainProgress) -> None:
        self.query_one(UpdateProgress).step(m.step, m.total, m.epoch, m.loss, m.seconds, m.losses)

    def on_work_done(self, message: WorkDone) -> None:
        if message.kind == "paper" and message.passage_id is not None:
            self.passage_id = message.passage_id
            self._subtitle()  # the probe kinds the new passages were given
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
        if not [w for w in self._mine(WORK) if w.group != message.kind]:  # work started since keeps the lines
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
