"""The session screen's workers: every engine call that takes time, each in a declared
thread worker that reports only through messages (seal_tui.messages).

A mixin for SessionScreen, which owns `session`, `stop`, `closed`, `_guard`, `_working` and
the widgets; the handlers of what these workers post live on the screen.

Leaving the screen gives the session back (release): its runtime closed (LocalRuntime ends
its llama.cpp child; the torch model goes with the last reference) and its writer lock
released. Work still running in a thread then (a quit during an update, which stops after
the step in flight) gives it back when it ends, so the lock is never released under a write;
a model that finishes loading after the person left is closed, not attached.
"""

from __future__ import annotations

import functools
import time

from textual import work

from engine import events as ev
from engine.domain import version_label
from engine.ingest import paper_from_text, read_paper
from engine.session import NoModel
from seal_tui.host import seal_app
from seal_tui.messages import (
    DriftDetail,
    EngineEvent,
    LoadStep,
    PaperRequested,
    RuntimeReady,
    TrainProgress,
    WorkDone,
)
from seal_tui.render import base_warning, update_note
from seal_tui.screens.session_state import SessionState
from seal_tui.widgets.passage_list import label

WORK = ("paper", "generate", "update", "filter", "swap", "editor", "answers", "drift")
"""Worker groups that count as the screen's running work (one at a time, Esc cancels)."""
TOKEN_BATCH_S = 1 / 30
LOSSES_FROM = (ev.StageName.TRAIN, ev.StageName.EDITOR)
"""Stages whose training steps draw a fresh loss line."""


def holds_session(method):
    """A worker body that writes the session: the session is given back after it ends."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self._guard:
            self._working += 1
        try:
            return method(self, *args, **kwargs)
        finally:
            with self._guard:
                self._working -= 1
                last = self.closed and self._working == 0
            if last:
                self._give_back()

    return run


def close_runtime(runtime) -> None:
    if runtime is not None and not isinstance(runtime, NoModel) and callable(close := getattr(runtime, "close", None)):
        close()


class SessionWorkers(SessionState):
    """Thread workers of the session screen; each ends by posting WorkDone (or fails into
    the screen's Worker.StateChanged handler)."""

    def _reporter(self) -> ev.OnEvent:
        """The engine's `on_event` for a worker: posts messages to this screen. Tokens are
        coalesced: a run of them arriving within TOKEN_BATCH_S goes out as one message, so a
        fast stream wakes the UI thread about once a frame rather than once a token."""
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
                    self.post_message(EngineEvent(token))

        def on_event(event: ev.Event) -> None:
            if isinstance(event, ev.Token):
                tokens.append(event)
                if time.monotonic() - flushed[0] >= TOKEN_BATCH_S:
                    flush()
                return
            flush()
            if isinstance(event, ev.TrainStep):
                losses.append(event.loss)
                self.post_message(
                    TrainProgress(event.step, event.total, event.epoch, event.loss, event.seconds, tuple(losses))
                )
            else:
                if isinstance(event, ev.Stage) and event.name in LOSSES_FROM:
                    losses.clear()
                self.post_message(EngineEvent(event))

        return on_event

    def release(self) -> None:
        """Give the session back now, or when the work still running ends. Once only."""
        with self._guard:
            if self.closed:
                return
            self.closed = True
            now = self._working == 0
        if now:
            self._give_back()

    def _give_back(self) -> None:
        session = self.session
        if session is None:
            return
        runtime, session.runtime = session.runtime, NoModel("the session was closed")
        try:
            close_runtime(runtime)
        finally:
            session.close()

    @work(thread=True, exclusive=True, exit_on_error=False, group="model", description="loading the model")
    def load_runtime(self) -> None:
        if self.closed:
            return
        runtime = seal_app(self).runtime_factory(self.opened_session.config)
        steps = getattr(runtime, "load_steps", None)
        try:
            # both model copies, after the first frame, each step shown as it begins; a bad model fails here
            named = steps() if callable(steps) else [("loading the model", runtime.load)]
            for index, (name, step) in enumerate(named, 1):
                self.post_message(LoadStep(index, len(named), name))
                step()
            with self._guard:
                attached = not self.closed
                if attached:
                    self.opened_session.attach_runtime(runtime)  # ModelMismatch: not the session's model
        except BaseException:
            close_runtime(runtime)
            raise
        if not attached:  # the person left while it loaded
            close_runtime(runtime)
            return
        placement = getattr(runtime, "placement", None)
        self.post_message(RuntimeReady(getattr(runtime, "name", "model"), placement() if callable(placement) else ""))

    @work(thread=True, exclusive=True, exit_on_error=False, group="paper", description="adding a paper")
    @holds_session
    def _add_paper(self, request: PaperRequested) -> None:
        size, most = self.opened_session.config.passage_tokens, self.opened_session.config.max_passages
        if request.path:
            drafts = read_paper(request.path, size, most)
        else:
            drafts = [paper_from_text(request.text, request.title or None, "pasted text", size, most)]
        added = [p for d in drafts for p in self.opened_session.add_paper(d, self._reporter())]
        self.post_message(WorkDone("paper", added[0].id if added else None, f"{len(added)} passage(s) ready"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="generate", description="writing candidates")
    @holds_session
    def _generate(self, passage, again: bool, review: bool = False) -> None:
        """review: asked for by u on a passage without candidates, which stops here so that a
        person sees them before anything trains."""
        stop = self.stop
        if again:
            made = self.opened_session.regenerate(passage, self._reporter(), stop)
        else:
            made = self.opened_session.generate(passage, self._reporter(), stop)
        note = f"{len(made)} candidate(s) written"
        if review and not stop.is_set():
            note += f": review them, then u again to learn {label(passage)}"
            self.notify(f"Candidates written: review them, then u again to learn {label(passage)}.", title="Review")
        self.post_message(WorkDone("generate", passage.id, note))

    @work(thread=True, exclusive=True, exit_on_error=False, group="update", description="running the update")
    @holds_session
    def _update(self, passage) -> None:
        """The update; its note says where the passage stands against the base model as well,
        and a warning names every passage the new version scores worse than base."""
        update = self.opened_session.step(passage, self._reporter(), self.stop)
        if update is None:
            note = (
                f"update cancelled: {version_label(self.opened_session.current_version)} stays; "
                "the next u trains again from step 1"
            )
        else:
            labels = {p.id: label(p) for p in self.opened_session.passages()}
            session = self.opened_session
            note, warning = update_note(session.matrix("answer_nll"), update.version, passage.id, labels)
            # the family the heatmap opens on may look fine while another got worse: warn for each
            others = [
                base_warning(session.matrix("answer_nll", f), update.version, labels) for f in session.families()[1:]
            ]
            warning = "\n".join(w for w in [warning, *others] if w)
            if warning:
                note = f"[bold red]{note}[/]"
                self.notify(warning, title="Worse than base", severity="warning", timeout=20)
        self.post_message(WorkDone("update", passage.id, note))

    @work(thread=True, exclusive=True, exit_on_error=False, group="filter", description="running the reward filter")
    @holds_session
    def _filter(self, passage) -> None:
        stop = self.stop
        edits = self.opened_session.apply_policy(passage, self._reporter(), policy="filter", stop=stop)
        pending = sum(e.status == "pending" for e in edits)
        kept = sum(e.status == "accepted" and e.decided_by == "filter" for e in edits)
        if stop.is_set():
            note = f"reward filter cancelled: {pending} candidate(s) left pending"
        else:
            note = f"reward filter kept {kept} candidate(s) of {label(passage)}"
        self.post_message(WorkDone("filter", passage.id, note))

    @work(thread=True, exclusive=True, exit_on_error=False, group="swap", description="switching the model's version")
    @holds_session
    def _sync_generation(self) -> None:
        self.opened_session.sync_generation(self._reporter())
        self.post_message(WorkDone("swap", None, f"generation uses v{self.opened_session.current_version}"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="editor", description="training the editor")
    @holds_session
    def _editor_round(self) -> None:
        made = self.opened_session.improve_editor(self._reporter(), self.stop)
        note = "editor round cancelled" if made is None else f"editor round {made.number} writes the next candidates"
        self.post_message(WorkDone("editor", None, note))

    @work(thread=True, exclusive=True, exit_on_error=False, group="answers", description="scoring the model's answers")
    @holds_session
    def _fill_answers(self) -> None:
        added = self.opened_session.fill_answers(self._reporter(), self.stop)
        note = "answers scoring cancelled" if self.stop.is_set() else f"{added} answers scored"
        self.post_message(WorkDone("answers", None, note))

    @work(thread=True, exclusive=True, exit_on_error=False, group="drift", description="scoring the drift questions")
    @holds_session
    def _score_drift(self, version: int) -> None:
        greedy = self.opened_session.config.greedy_answers
        self.post_message(DriftDetail(version, greedy, self.opened_session.drift_detail(version)))
