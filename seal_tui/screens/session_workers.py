"""The session screen's workers: every engine call that takes time, each in a declared
thread worker that reports only through messages (seal_tui.messages).

A mixin for SessionScreen, which owns `session`, `stop` and the widgets; the handlers of
what these workers post live on the screen.
"""
from __future__ import annotations

import time

from textual import work

from engine import events as ev
from engine.ingest import paper_from_text, read_paper
from seal_tui.messages import EngineEvent, PaperRequested, RuntimeReady, TrainProgress, WorkDone
from seal_tui.widgets.passage_list import label

WORK = ("paper", "generate", "update", "filter", "swap", "editor")
"""Worker groups that count as the screen's running work (one at a time, Esc cancels)."""
TOKEN_BATCH_S = 1 / 30


class SessionWorkers:
    """Thread workers of the session screen; each ends by posting WorkDone (or fails into
    the screen's Worker.StateChanged handler)."""

    def _reporter(self):
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
                self.post_message(TrainProgress(event.step, event.total, event.epoch, event.loss, event.seconds, tuple(losses)))
            else:
                if isinstance(event, ev.Stage) and event.name in ("train", "editor"):
                    losses.clear()
                self.post_message(EngineEvent(event))
        return on_event

    @work(thread=True, exclusive=True, exit_on_error=False, group="model", description="loading the model")
    def load_runtime(self) -> None:
        runtime = self.app.runtime_factory(self.session.config)
        runtime.load()  # both model copies, after the first frame; a bad model fails here
        self.session.attach_runtime(runtime)
        self.post_message(RuntimeReady(getattr(runtime, "name", "model")))

    @work(thread=True, exclusive=True, exit_on_error=False, group="paper", description="adding a paper")
    def _add_paper(self, request: PaperRequested) -> None:
        size, most = self.session.config.passage_tokens, self.session.config.max_passages
        if request.path:
            drafts = read_paper(request.path, size, most)
        else:
            drafts = [paper_from_text(request.text, request.title or None, "pasted text", size, most)]
        added = [p for d in drafts for p in self.session.add_paper(d, self._reporter())]
        self.post_message(WorkDone("paper", added[0].id if added else None, f"{len(added)} passage(s) ready"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="generate", description="writing candidates")
    def _generate(self, passage, again: bool) -> None:
        if again:
            made = self.session.regenerate(passage, self._reporter(), self.stop)
        else:
            made = self.session.generate(passage, self._reporter(), self.stop)
        self.post_message(WorkDone("generate", passage.id, f"{len(made)} candidate(s) written"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="update", description="running the update")
    def _update(self, passage) -> None:
        update = self.session.step(passage, self._reporter(), self.stop)
        note = "update cancelled" if update is None else f"v{update.version} learned {label(passage)}"
        self.post_message(WorkDone("update", passage.id, note))

    @work(thread=True, exclusive=True, exit_on_error=False, group="filter", description="running the reward filter")
    def _filter(self, passage) -> None:
        stop = self.stop
        edits = self.session.apply_policy(passage, self._reporter(), policy="filter", stop=stop)
        pending = sum(e.status == "pending" for e in edits)
        kept = sum(e.status == "accepted" and e.decided_by == "filter" for e in edits)
        if stop.is_set():
            note = f"reward filter cancelled: {pending} candidate(s) left pending"
        else:
            note = f"reward filter kept {kept} candidate(s) of {label(passage)}"
        self.post_message(WorkDone("filter", passage.id, note))

    @work(thread=True, exclusive=True, exit_on_error=False, group="swap", description="switching the model's version")
    def _sync_generation(self) -> None:
        self.session.sync_generation(self._reporter())
        self.post_message(WorkDone("swap", None, f"generation uses v{self.session.current_version}"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="editor", description="training the editor")
    def _editor_round(self) -> None:
        made = self.session.improve_editor(self._reporter(), self.stop)
        note = "editor round cancelled" if made is None else f"editor round {made.number} writes the next candidates"
        self.post_message(WorkDone("editor", None, note))
