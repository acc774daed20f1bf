"""The running work: the model's load (its step, the time so far), candidates being written
(candidate n of K, with an ETA from those written so far), the update's steps, epoch, an
ETA for the whole update (training and the scoring after it: seal_tui.update_eta) and the
loss so far as a line; or the reward filter's trials as they finish."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar, Sparkline

from engine import events as ev
from seal_tui.update_eta import Eta, Timings, UpdateEta

IDLE = "idle: [b]u[/] learns the selected passage"


def duration(seconds: float) -> str:
    """A wait in words: "45s", "3.5m"."""
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


@dataclass
class WritingRun:
    """Candidates being written: how many, which is in flight, how long each took."""

    total: int | None
    first: int | None = None
    """The engine's index of the first one written in this run (earlier ones were stored)."""
    current: int | None = None
    started: float = field(default_factory=time.monotonic)
    took: list[float] = field(default_factory=list)

    def number(self, index: int) -> int:
        return index - (index if self.first is None else self.first) + 1

    def eta(self) -> str:
        if not self.took:
            return "ETA after the first"
        if self.total is None:
            return f"{sum(self.took) / len(self.took):.0f}s each"
        left = sum(self.took) / len(self.took) * (self.total - len(self.took))
        if self.current is not None and len(self.took) < self.total:
            left = max(0.0, left - (time.monotonic() - self.started))
        return f"ETA {duration(left)}"


class UpdateProgress(Vertical):
    """Idle line, or a bar with steps/ETA and a live loss sparkline while training."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.eta = Eta()
        self.writing: WritingRun | None = None
        self.update_eta: UpdateEta | None = None
        """The running update's estimate (None: no update runs)."""
        self.timings = Timings()
        """What the parts of an update after training took last, kept across updates."""
        self.load_step: tuple[str, float] | None = None
        """The model's load step now running, and when the load began."""
        self.loaded_in: float | None = None
        """Seconds the model's load took, once it has loaded."""

    def compose(self) -> ComposeResult:
        yield Label(IDLE, id="update-status")
        yield Label("", id="update-machine")
        with Horizontal(id="update-bar"):
            yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="update-steps")
            yield Label("", id="update-loss")
        yield Sparkline([], id="update-sparkline")

    def on_mount(self) -> None:
        self.border_title = "Update"
        self.idle(IDLE)
        self.set_interval(0.5, self._tick)

    def _tick(self) -> None:
        """Count the time on: the load's time so far, and the update's ETA after training."""
        if self.load_step is not None and not self.has_class("-busy"):
            self._show_load()
        elif (u := self.update_eta) is not None and u.phase not in ("before", "train"):
            self._show_update_eta()

    # -- the model's load ---------------------------------------------------------------
    def model_loading(self, name: str, index: int, count: int) -> None:
        """The load began step `index` of `count`; the line counts the seconds so far."""
        began = self.load_step[1] if self.load_step is not None else time.monotonic()
        self.load_step = (f"{name} ({index} of {count})", began)
        if not self.has_class("-busy"):  # other work (the first paper) keeps the lines until it ends
            self.query_one(ProgressBar).update(total=count, progress=index - 1)
            self._show_load()

    def _show_load(self) -> None:
        assert self.load_step is not None  # only while loading
        name, began = self.load_step
        self.query_one("#update-status", Label).update(
            f"loading the model: {name}… {duration(time.monotonic() - began)}"
        )
        self.query_one("#update-loss", Label).update(
            "the first load of a model reads its weights for torch and for llama.cpp; later steps wait for it"
        )

    def loaded(self) -> None:
        """The model has loaded (or failed to): the load's lines give way."""
        if self.load_step is not None:
            self.loaded_in = time.monotonic() - self.load_step[1]
            self.load_step = None

    # -- an update's ETA ------------------------------------------------------------------
    def begin_update(self, text: str, after: int, probes: dict[int, int]) -> None:
        """An update begins: `after` probes are scored once it has trained (UpdateEta)."""
        self.start(text)
        self.update_eta = UpdateEta(after, probes, self.timings)

    def engine_event(self, event: ev.Event, now: float) -> None:
        """What the running update's estimate learns from an engine event."""
        if self.update_eta is not None:
            self.update_eta.event(event, now)
            if self.update_eta.phase not in ("before", "train"):
                self._show_update_eta()

    def _show_update_eta(self) -> None:
        assert self.update_eta is not None
        left = self.update_eta.left(time.monotonic())
        text = "" if left is None else f"ETA {duration(left)}" if left >= 0.5 else "ETA <1s"
        self.query_one("#update-loss", Label).update(text)

    def _update_eta_text(self, now: float) -> str:
        """During training: the whole update's ETA, with the part after training named."""
        assert self.update_eta is not None
        training, after = self.update_eta.training(now), self.update_eta.after_training(now)
        if training is None:
            return "ETA …"
        if after is None:
            return f"ETA {duration(training)}, then scoring"
        return f"ETA {duration(training + after)} (then scoring ~{duration(after)})"

    def machine(self, text: str) -> None:
        """Why the running work is slow, when other programs hold cores (empty: hidden)."""
        line = self.query_one("#update-machine", Label)
        line.update(text)
        line.display = bool(text)

    def stage(self, text: str) -> None:
        """A long step began (scoring, training...): an indeterminate bar (and the update's
        ETA, once it has one)."""
        self.add_class("-busy")
        self.writing = None
        self.eta.reset()
        self.query_one("#update-status", Label).update(text)
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.query_one("#update-loss", Label).update("")
        if self.update_eta is not None and self.update_eta.phase not in ("before", "train"):
            self._show_update_eta()

    def began(self, stage: ev.Stage) -> None:
        """An engine stage began, named as the engine words it; candidates being written get a
        bar over their count."""
        if isinstance(stage, ev.Generating):
            self.write(f"writing {stage.detail}", stage.count)
        else:
            self.stage(f"{stage.name}: {stage.detail}")

    def write(self, text: str, total: int | None) -> None:
        """Candidates are being written: a bar over `total` of them (None: not known)."""
        self.stage(text)
        self.writing = w = WritingRun(total)
        if total:
            self.query_one(ProgressBar).update(total=total, progress=0)
        self._show_writing(w)

    def candidate(self, index: int) -> None:
        """Candidate `index` (the engine's count, from the passage's first) is being written."""
        if (w := self.writing) is None:
            return
        if w.first is None:
            w.first = index
        if w.current != index:
            w.current, w.started = index, time.monotonic()
        self._show_writing(w)

    def candidate_done(self, done: ev.CandidateDone) -> None:
        if (w := self.writing) is None:
            return
        index, tokens, seconds = done.index, done.tokens, done.seconds
        if w.first is None:
            w.first = index
        w.took.append(seconds)
        w.current = None
        if w.total:
            self.query_one(ProgressBar).update(total=w.total, progress=len(w.took))
        rate = f" ({tokens / seconds:.1f} tokens/s)" if seconds > 0 else ""
        of = f" of {w.total}" if w.total else ""
        self.note(f"candidate {w.number(index)}{of} written: {tokens} tokens in {seconds:.0f}s{rate}")
        self._show_writing(w)

    def _show_writing(self, w: WritingRun) -> None:
        of = f" of {w.total}" if w.total else ""
        if w.current is not None:
            where = f"candidate {w.number(w.current)}{of}"
        else:
            where = f"{len(w.took)}{of} written"
        self.query_one("#update-loss", Label).update(f"{where} · {w.eta()}")

    def note(self, text: str) -> None:
        """Where the running step is, in words; the bar stays as it is."""
        self.query_one("#update-status", Label).update(text)

    def start(self, text: str) -> None:
        self.stage(text)
        self.query_one(Sparkline).data = []
        self.query_one("#update-loss", Label).update("")

    def step(self, step: int, total: int, epoch: int, loss: float, seconds: float, losses: tuple[float, ...]) -> None:
        self.add_class("-busy")
        self.query_one(ProgressBar).update(total=total, progress=step)
        if self.update_eta is not None:
            now = time.monotonic()
            self.update_eta.train_step(step, total, seconds, now)
            eta = self._update_eta_text(now)
        else:
            eta = self._eta(step, total, seconds)
        self.query_one("#update-loss", Label).update(
            f"step {step}/{total} · epoch {epoch + 1} · loss {loss:.3f} · {eta}"
        )
        self.query_one(Sparkline).data = list(losses)

    def _eta(self, step: int, total: int, seconds: float) -> str:
        left = self.eta.update(step, total, seconds)
        return "ETA …" if left is None else f"ETA {duration(left)}" if left > 0 else ""

    def trial(self, trial: ev.TrialDone) -> None:
        """The reward filter finished a trial."""
        done, total = trial.index + 1, trial.total
        self.add_class("-busy")
        self.query_one(ProgressBar).update(total=total, progress=done)
        self.query_one("#update-loss", Label).update(
            f"trial {done}/{total} · reward {trial.reward:+.2f} · damage {trial.damage:+.2f} · {trial.seconds:.1f}s"
        )

    def idle(self, text: str, losses: tuple[float, ...] = ()) -> None:
        self.remove_class("-busy")
        self.writing = None
        self.update_eta = None
        self.eta.reset()
        self.machine("")
        self.query_one("#update-status", Label).update(text)
        self.query_one(ProgressBar).update(total=100, progress=0)
        self.query_one("#update-loss", Label).update("")
        self.query_one(Sparkline).data = list(losses)
        if self.load_step is not None:  # the model is still loading: that is what runs
            self._show_load()
