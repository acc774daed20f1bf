"""The running update: steps, epoch, ETA, and the loss so far as a line; or the reward
filter's trials as they finish."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar, Sparkline

IDLE = "idle: [b]u[/] learns the selected passage"


def eta(step: int, total: int, seconds: float) -> str:
    if step <= 0 or total <= step:
        return ""
    left = seconds / step * (total - step)
    return f"ETA {left:.0f}s" if left < 120 else f"ETA {left / 60:.1f}m"


class UpdateProgress(Vertical):
    """Idle line, or a bar with steps/ETA and a live loss sparkline while training."""

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
        """A long step began (scoring, generating...): an indeterminate bar."""
        self.add_class("-busy")
        self.query_one("#update-status", Label).update(text)
        self.query_one(ProgressBar).update(total=None, progress=0)

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
            f"step {step}/{total} · epoch {epoch + 1} · loss {loss:.3f} · {eta(step, total, seconds)}"
        )
        self.query_one(Sparkline).data = list(losses)

    def trial(self, done: int, total: int, reward: float, damage: float, seconds: float) -> None:
        """The reward filter finished trial `done` of `total`."""
        self.add_class("-busy")
        self.query_one(ProgressBar).update(total=total, progress=done)
        self.query_one("#update-loss", Label).update(
            f"trial {done}/{total} · reward {reward:+.2f} · damage {damage:+.2f} · {seconds:.1f}s"
        )

    def idle(self, text: str, losses: tuple[float, ...] = ()) -> None:
        self.remove_class("-busy")
        self.machine("")
        self.query_one("#update-status", Label).update(text)
        self.query_one(ProgressBar).update(total=100, progress=0)
        self.query_one("#update-loss", Label).update("")
        self.query_one(Sparkline).data = list(losses)
