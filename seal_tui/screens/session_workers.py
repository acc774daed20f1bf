"""The session screen's long work: every engine call that takes time, each in a declared
thread worker that reports only through messages (seal_tui.messages), and how long the
screen holds its session.

SessionWork belongs to one SessionScreen, whose handlers take what the workers post. Its
workers run on the screen, each declared as every worker there is (`worker`: a thread,
exclusive in its group, a failure left to the screen's Worker.StateChanged handler), and
each ends by posting WorkDone (or fails into that handler).

Leaving the screen gives the session back (release): its runtime closed (LocalRuntime ends
its llama.cpp child; the torch model goes with the last reference) and its writer lock
released. Work still running in a thread then (a quit during an update, which stops after
the step in flight) gives it back when it ends, so the lock is never released under a write;
a model that finishes loading after the person left is closed, not attached.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.worker import Worker, WorkerState

from engine import events as ev
from engine.domain import Passage, version_label
from engine.papers.ingest import paper_from_text, read_paper
from engine.sessions import session_scoring
from engine.sessions.session import NoModel
from seal_tui.host import seal_app
from seal_tui.messages import DriftDetail, EngineEvent, LoadStep, PaperRequested, RuntimeReady, TrainProgress, WorkDone
from seal_tui.render import base_warning, update_note
from seal_tui.widgets.passage_list import label

if TYPE_CHECKING:
    from engine.sessions.session import Session
    from seal_tui.screens.session import SessionScreen

WORK = ("paper", "generate", "update", "filter", "swap", "editor", "answers", "drift")
"""Worker groups that count as the screen's running work (one at a time, Esc cancels)."""
TOKEN_BATCH_S = 1 / 30
LOSSES_FROM = (ev.StageName.TRAIN, ev.StageName.EDITOR)
"""Stages whose training steps draw a fresh loss line."""


def worker(group: str, description: str) -> Callable[[Callable[..., None]], Callable[..., Worker[None]]]:
    """Declare a SessionWork method as a thread worker of its screen, as Textual's @work would
    (which only the screen itself may carry): calling it starts the worker and returns it."""

    def declare(method: Callable[..., None]) -> Callable[..., Worker[None]]:
        @functools.wraps(method)
        def start(self: SessionWork, *args: Any, **kwargs: Any) -> Worker[None]:
            return self.screen.run_worker(
                functools.partial(method, self, *args, **kwargs),
                name=method.__name__,
                group=group,
                description=description,
                exclusive=True,
                exit_on_error=False,
                thread=True,
            )

        return start

    return declare


def holds_session(method):
    """A worker body that writes the session: the session is given back after it ends."""

    @functools.wraps(method)
    def run(self: SessionWork, *args, **kwargs):
        with self.guard:
            self.working += 1
        try:
            return method(self, *args, **kwargs)
        finally:
            with self.guard:
                self.working -= 1
                last = self.closed and self.working == 0
            if last:
                self.give_back()

    return run


def close_runtime(runtime) -> None:
    if runtime is not None and not isinstance(runtime, NoModel):
        runtime.close()


def active(worker: Worker) -> bool:
    """Started or about to start: a worker counts from the moment it is asked for."""
    return worker.state in (WorkerState.PENDING, WorkerState.RUNNING)


class SessionWork:
    """The workers of one session screen, and whether it still holds its session."""

    def __init__(self, screen: SessionScreen) -> None:
        self.screen = screen
        self.stop = threading.Event()
        """Set by Esc (and a quit): the running work stops after the step in flight."""
        self.closed = False
        """The screen has given its session back, or will once the running work ends."""
        self.guard = threading.Lock()
        self.working = 0
        """Worker bodies running that write the session."""

    @property
    def session(self) -> Session:
        return self.screen.opened_session

    def running(self, groups) -> list[Worker]:
        """The screen's workers of these groups that have started or are about to."""
        return [w for w in self.screen.workers if w.node is self.screen and w.group in groups and active(w)]

    def busy(self) -> str:
        """What the running work is doing ("" when none runs)."""
        running = self.running(WORK)
        return running[0].description if running else ""

    def reporter(self) -> ev.OnEvent:
        """The engine's `on_event` for a worker: posts messages to the screen. Tokens are
        coalesced: a run of them arriving within TOKEN_BATCH_S goes out as one message, so a
        fast stream wakes the UI thread about once a frame rather than once a token."""
        post = self.screen.post_message
        losses: list[float] = []
        tokens: list[ev.Token] = []
        flushed = [0.0]

        def flush() -> None:
            flushed[0] = time.monotonic()
            if tokens:
                first = tokens[0]
                if all((t.passage_id, t.index) == (first.passage_id, first.index) for t in tokens):
                    merged = [ev.Token(first.passage_id, first.index, "".join(t.text for t in tokens))]
                else:
                    merged = list(tokens)
                tokens.clear()
                for token in merged:
                    post(EngineEvent(token))

        def on_event(event: ev.Event) -> None:
            if isinstance(event, ev.Token):
                tokens.append(event)
                if time.monotonic() - flushed[0] >= TOKEN_BATCH_S:
                    flush()
                return
            flush()
            if isinstance(event, ev.TrainStep):
                losses.append(event.loss)
                post(TrainProgress(event.step, event.total, event.epoch, event.loss, event.seconds, tuple(losses)))
            else:
                if isinstance(event, ev.Stage) and event.name in LOSSES_FROM:
                    losses.clear()
                post(EngineEvent(event))

        return on_event

    def release(self) -> None:
        """Give the session back now, or when the work still running ends. Once only."""
        with self.guard:
            if self.closed:
                return
            self.closed = True
            now = self.working == 0
        if now:
            self.give_back()

    def give_back(self) -> None:
        session = self.screen.session
        if session is None:
            return
        runtime, session.runtime = session.runtime, NoModel("the session was closed")
        try:
            close_runtime(runtime)
        finally:
            session.close()

    @worker("model", "loading the model")
    def load_runtime(self) -> None:
        if self.closed:
            return
        runtime = seal_app(self.screen).runtime_factory(self.session.config)
        try:
            # both model copies, after the first frame, each step shown as it begins; a bad model fails here
            named = runtime.load_steps()
            for index, (name, step) in enumerate(named, 1):
                self.screen.post_message(LoadStep(index, len(named), name))
                step()
            with self.guard:
                attached = not self.closed
                if attached:
                    self.session.attach_runtime(runtime)  # ModelMismatch: not the session's model
        except BaseException:
            close_runtime(runtime)
            raise
        if not attached:  # the person left while it loaded
            close_runtime(runtime)
            return
        status = runtime.status()
        self.screen.post_message(RuntimeReady(status.name, status.placement))

    @worker("paper", "adding a paper")
    @holds_session
    def add_paper(self, request: PaperRequested) -> None:
        size, most = self.session.config.passage_tokens, self.session.config.max_passages
        if request.path:
            drafts = read_paper(request.path, size, most)
        else:
            drafts = [paper_from_text(request.text, request.title or None, "pasted text", size, most)]
        added = [p for d in drafts for p in self.session.add_paper(d, self.reporter())]
        self.screen.post_message(WorkDone("paper", added[0].id if added else None, f"{len(added)} passage(s) ready"))

    @worker("generate", "writing candidates")
    @holds_session
    def generate(self, passage: Passage, again: bool, review: bool = False) -> None:
        """review: asked for by u on a passage without candidates, which stops here so that a
        person sees them before anything trains."""
        stop = self.stop
        if again:
            made = self.session.regenerate(passage, self.reporter(), stop)
        else:
            made = self.session.generate(passage, self.reporter(), stop)
        note = f"{len(made)} candidate(s) written"
        if review and not stop.is_set():
            note += f": review them, then u again to learn {label(passage)}"
            self.screen.notify(
                f"Candidates written: review them, then u again to learn {label(passage)}.", title="Review"
            )
        self.screen.post_message(WorkDone("generate", passage.id, note))

    @worker("update", "running the update")
    @holds_session
    def update(self, passage: Passage) -> None:
        """The update; its note says where the passage stands against the base model as well,
        and a warning names every passage the new version scores worse than base."""
        session = self.session
        update = session.step(passage, self.reporter(), self.stop)
        if update is None:
            note = (
                f"update cancelled: {version_label(session.current_version)} stays; the next u trains again from step 1"
            )
        else:
            labels = {p.id: label(p) for p in session.passages()}
            note, warning = update_note(session.matrix("answer_nll"), update.version, passage.id, labels)
            # the family the heatmap opens on may look fine while another got worse: warn for each
            others = [
                base_warning(session.matrix("answer_nll", f), update.version, labels) for f in session.families()[1:]
            ]
            warning = "\n".join(w for w in [warning, *others] if w)
            if warning:
                note = f"[bold red]{note}[/]"
                self.screen.notify(warning, title="Worse than base", severity="warning", timeout=20)
        self.screen.post_message(WorkDone("update", passage.id, note))

    @worker("filter", "running the reward filter")
    @holds_session
    def filter(self, passage: Passage) -> None:
        stop = self.stop
        edits = self.session.apply_policy(passage, self.reporter(), policy="filter", stop=stop)
        pending = sum(e.status == "pending" for e in edits)
        kept = sum(e.status == "accepted" and e.decided_by == "filter" for e in edits)
        if stop.is_set():
            note = f"reward filter cancelled: {pending} candidate(s) left pending"
        else:
            note = f"reward filter kept {kept} candidate(s) of {label(passage)}"
        self.screen.post_message(WorkDone("filter", passage.id, note))

    @worker("swap", "switching the model's version")
    @holds_session
    def sync_generation(self) -> None:
        self.session.sync_generation(self.reporter())
        self.screen.post_message(WorkDone("swap", None, f"generation uses v{self.session.current_version}"))

    @worker("editor", "training the editor")
    @holds_session
    def editor_round(self) -> None:
        made = self.session.improve_editor(self.reporter(), self.stop)
        note = "editor round cancelled" if made is None else f"editor round {made.number} writes the next candidates"
        self.screen.post_message(WorkDone("editor", None, note))

    @worker("answers", "scoring the model's answers")
    @holds_session
    def fill_answers(self) -> None:
        added = session_scoring.fill_answers(self.session, self.reporter(), self.stop)
        note = "answers scoring cancelled" if self.stop.is_set() else f"{added} answers scored"
        self.screen.post_message(WorkDone("answers", None, note))

    @worker("drift", "scoring the drift questions")
    @holds_session
    def score_drift(self, version: int) -> None:
        greedy = self.session.config.greedy_answers
        self.screen.post_message(DriftDetail(version, greedy, session_scoring.drift_detail(self.session, version)))
