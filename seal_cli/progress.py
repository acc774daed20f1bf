"""Shows engine events on stderr while a CLI command works."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn

from engine import events as ev


class ProgressReporter:
    """An on_event callback that draws progress bars and one line per finished step."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=self.console,
            transient=True,
        )
        self._task: TaskID | None = None
        self._tokens = 0

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def _bar(self, description: str, total: float | None) -> None:
        if self._task is not None:
            self.progress.remove_task(self._task)
        self._task = self.progress.add_task(description, total=total, info="")

    def __call__(self, event: ev.Event) -> None:
        log = self.progress.console.print
        match event:
            case ev.PaperAdded(title=title, passage_ids=ids):
                log(f"added [bold]{title}[/]: {len(ids)} passage(s)")
            case ev.Generating(passage_id=pid):
                self._tokens = 0
                self._bar(f"p{pid} writing {event.detail}", None)
            case ev.Training(passage_id=pid) | ev.EpochKept(passage_id=pid):
                self._bar(f"p{pid} training on {event.detail}", None)
            case ev.Stage():
                self._bar(f"{event.name}: {event.detail}", None)
            case ev.Token():
                self._tokens += 1
                if self._task is not None:
                    self.progress.update(self._task, info=f"{self._tokens} tokens")
            case ev.CandidateDone(index=i, tokens=n, seconds=s, text=text):
                log(f"  candidate {i + 1}: {n} tokens in {s:.1f}s  [dim]{text[:60]!r}[/]")
            case ev.GateDecision(edit_id=eid, accepted=ok, reason=reason):
                mark = "[green]accepted[/]" if ok else "[red]rejected[/]"
                log(f"  edit {eid} {mark}: {reason}")
            case ev.TrainStep(step=step, total=total, loss=loss):
                if self._task is not None:
                    self.progress.update(self._task, completed=step, total=total, info=f"loss {loss:.3f}")
            case ev.UpdateDone(version=v, loss_first=a, loss_last=b, seconds=s):
                log(f"  update v{v}: loss {a:.3f} -> {b:.3f} in {s:.1f}s")
            case ev.EditorRoundDone(number=n, pairs=pairs, trigger=trigger, loss_first=a, loss_last=b, seconds=s):
                log(f"  editor round {n} ({trigger}): {pairs} kept self-edits, loss {a:.3f} -> {b:.3f} in {s:.1f}s")
            case ev.ScoresReady(version=v, passage_nll=nll, seconds=s):
                cells = "  ".join(f"p{pid}={value:.2f}" for pid, value in nll.items())
                log(f"  scores v{v} ({s:.1f}s): {cells}")
            case ev.Cancelled(what=what):
                log(f"[yellow]{what} cancelled[/]")
