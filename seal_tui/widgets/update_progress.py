"""The running work: candidates being written (candidate n of K, with an ETA from those
written so far), the update's steps, epoch, a steady ETA and the loss so far as a line; or
the reward filter's trials as they finish."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar, Sparkline

IDLE = "idle: [b]u[/] learns the selected passage"


def duration(seconds: float) -> str:
    """A wait in words: "45s", "3.5m"."""
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


class Eta:
    """A steady estimate of the time left in a run of steps.

    The time per step is the mean over every step since the first report (which only starts
    the clock: its steps carry the warm-up), so an end-of-epoch check counts for its share
    rather than for the step it fell in; and the estimate shown counts down with the clock
    and moves only part of the way toward each new one. A slow first step or a check does not
    swing it (it went 14.9m, 6.5m, 2.2m within a minute when it divided by all steps so far).
    """

    PULL = 0.3
    """How far the shown estimate moves toward each new one."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._first: tuple[int, float] | None = None
        self._last = 0
        self._shown: tuple[float, float] | None = None

    def update(self, done: int, total: int, seconds: float) -> float | None:
        """Seconds left after `done` of `total` steps, `seconds` after the run began; None
        until two reports have come."""
        if done < self._last:
            self.reset()  # a new run
        self._last = done
        if done >= total:
            return 0.0
        if self._first is None:
            self._first = (done, seconds)
        if done <= self._first[0]:
            return None
        left = (seconds - self._first[1]) / (done - self._first[0]) * (total - done)
        if self._shown is not None:
            shown, at = self._shown
            expected = max(0.0, shown - (seconds - at))
            left = expected + self.PULL * (left - expected)
        self._shown = (left, seconds)
        return left


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

    def machine(self, text: str) -> None:
        """Why the running work is slow, when other programs hold cores (empty: hidden)."""
        line = self.query_one("#update-machine", Label)
        line.update(text)
        line.display = bool(text)

    def stage(self, text: str) -> None:
        """A long step began (scoring, training...): an indeterminate bar."""
        self.add_class("-busy")
        self.writing = None
        self.eta.reset()
        self.query_one("#update-status", Label).update(text)
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.query_one("#update-loss", Label).update("")

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

    def candidate_done(self, index: int, tokens: int, seconds: float) -> None:
        if (w := self.writing) is None:
            return
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
        self.query_one("#update-loss", Label).update(
            f"step {step}/{total} · epoch {epoch + 1} · loss {loss:.3f} · {self._eta(step, total, seconds)}"
        )
        self.query_one(Sparkline).data = list(losses)

    def _eta(self, step: int, total: int, seconds: float) -> str:
        left = self.eta.update(step, total, seconds)
        return "ETA …" if left is None else f"ETA {duration(left)}" if left > 0 else ""

    def trial(self, done: int, total: int, reward: float, damage: float, seconds: float) -> None:
        """The reward filter finished trial `done` of `total`."""
        self.add_class("-busy")
        self.query_one(ProgressBar).update(total=total, progress=done)
        self.query_one("#update-loss", Label).update(
            f"trial {done}/{total} · reward {reward:+.2f} · damage {damage:+.2f} · {seconds:.1f}s"
        )

    def idle(self, text: str, losses: tuple[float, ...] = ()) -> None:
        self.remove_class("-busy")
        self.writing = None
        self.eta.reset()
        self.machine("")
        self.query_one("#update-status", Label).update(text)
        self.query_one(ProgressBar).update(total=100, progress=0)
        self.query_one("#update-loss", Label).update("")
        self.query_one(Sparkline).data = list(losses)
