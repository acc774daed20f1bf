"""How long the running update has left, all of it: the training steps left (Eta, steady
over the steps) and the work after the last step, which no step shows: the drift guard's
check of the last epoch, saving and exporting the adapter for generation, scoring every
passage seen so far under the new version, and the drift set.

Each part after training is estimated from what this app last measured of it (Timings,
kept across the updates of a screen), else from this update's own start: the scoring there
gives the seconds per probe, and the drift set scored at the base model before a session's
first update gives the drift set's time, of which the guard check is half (24 of its 48
questions). Pure: fed the engine's events with the time each arrived (the app, and
bench/update_eta.py replaying recorded updates)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from engine import events as ev


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


EXPORT_S = 1.0
"""Seconds assumed for saving and exporting the adapter before the first was measured."""
GUARD_SHARE = 0.5
"""The guard check's share of the drift set's time: it scores one half of it."""


@dataclass
class Timings:
    """What the parts after training took last (None: not measured yet)."""

    per_probe: float | None = None
    """Seconds per probe scored (with greedy answers when the session scores them)."""
    after_per_probe: float | None = None
    """The same in the scoring after the last update's training: every passage seen, in
    fuller batches than one passage's scoring before training, so cheaper per probe."""
    drift: float | None = None
    check: float | None = None
    export: float | None = None


class UpdateEta:
    def __init__(self, after: int, probes: dict[int, int], timings: Timings | None = None) -> None:
        """after: probes scored once training ends (every passage seen so far); probes:
        passage id -> its probe count, to turn a scoring's seconds into seconds per probe."""
        self.after, self.probes = after, probes
        self.timings = timings or Timings()
        self.eta = Eta()
        self.phase = "before"
        """before, train, check, export, score, drift, done."""
        self.since = 0.0
        """When the current phase began."""
        self.last = 0.0
        """When the last event came."""
        self.train_left: tuple[float, float] | None = None
        """(seconds of training left, when estimated)."""

    # -- the engine's events ----------------------------------------------------------
    def train_step(self, step: int, total: int, seconds: float, now: float) -> None:
        left = self.eta.update(step, total, seconds)
        self.train_left = None if left is None else (left, now)
        self.phase = "check" if step >= total else "train"
        self.since = self.last = now

    def event(self, event: ev.Event, now: float) -> None:
        t = self.timings
        match event:
            case ev.TrainStep(step=step, total=total, seconds=seconds):
                self.train_step(step, total, seconds, now)
                return
            case ev.ScoresReady(passage_nll=scored, seconds=seconds):
                count = sum(self.probes.get(p, 0) for p in scored)
                if count and seconds > 0:
                    t.per_probe = seconds / count
                    if self.phase == "score":
                        t.after_per_probe = t.per_probe
                if self.phase == "score":
                    self._next("drift", now)
            case ev.DriftScored(version=version):
                if self.phase == "drift":
                    t.drift = now - self.since
                    self._next("done", now)
                elif self.phase == "before" and version == 0:
                    t.drift = now - self.last
            case ev.UpdateDone():
                if self.phase in ("train", "check"):
                    t.check = now - self.since
                self._next("export", now)
            case ev.AdapterSwapped():
                if self.phase == "export":
                    t.export = now - self.since
                    self._next("score", now)
            case ev.Scoring():
                if self.phase == "export":
                    t.export = now - self.since
                    self._next("score", now)
        self.last = now

    def _next(self, phase: str, now: float) -> None:
        self.phase, self.since = phase, now

    # -- estimates ----------------------------------------------------------------------
    def part(self, phase: str) -> float | None:
        """Seconds the given part after training should take (None: not known yet)."""
        t = self.timings
        if phase == "check":
            return t.check if t.check is not None else None if t.drift is None else GUARD_SHARE * t.drift
        if phase == "export":
            return EXPORT_S if t.export is None else t.export
        if phase == "score":
            per_probe = t.after_per_probe if t.after_per_probe is not None else t.per_probe
            return None if per_probe is None else per_probe * self.after
        if phase == "drift":
            return t.drift
        return 0.0

    def after_training(self, now: float) -> float | None:
        """Seconds from the end of training (or from now, once it has ended) to the end."""
        order = ("check", "export", "score", "drift")
        start = order.index(self.phase) if self.phase in order else 0
        if self.phase == "done":
            return 0.0
        total = 0.0
        for i, phase in enumerate(order[start:]):
            part = self.part(phase)
            if part is None:
                return None
            if i == 0 and self.phase == phase:
                part = max(0.0, part - (now - self.since))
            total += part
        return total

    def training(self, now: float) -> float | None:
        """Seconds of training left (None: not known yet)."""
        if self.phase != "train":
            return 0.0 if self.phase != "before" else None
        if self.train_left is None:
            return None
        left, at = self.train_left
        return max(0.0, left - (now - at))

    def left(self, now: float) -> float | None:
        """Seconds left in the whole update (None: not known yet)."""
        training, after = self.training(now), self.after_training(now)
        return None if training is None or after is None else training + after


def recorded_event(row: dict) -> ev.Event:
    """An event as bench/update_eta.py recorded it (its type's name and fields). A stage
    recorded before stages had their own events ("Stage", its name and words) counts here only
    when it began scoring, and its words say the version and the probes."""
    if row["type"] == "Stage":
        if row["name"] != "score":
            return ev.Event()
        version, _, probes = row["detail"].removesuffix(" probes").partition(" on ")
        return ev.Scoring(0 if version == "base" else int(version.removeprefix("v")), int(probes))
    kind = getattr(ev, row["type"])
    names = {f.name for f in fields(kind)}
    values = {k: v for k, v in row.items() if k in names}
    if "passage_nll" in values:
        values["passage_nll"] = {int(k): v for k, v in values["passage_nll"].items()}
    return kind(**values)
