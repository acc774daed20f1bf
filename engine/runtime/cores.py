"""How many cores seal may use right now, and how busy the rest of the machine is.

llama.cpp and torch split each step across their threads and wait for the slowest. When
another program holds a core, a thread sharing that core runs at half speed and every
step waits for it: two threads on two cores beside one busy program ran at a third of
their speed, where one thread keeps more than half. So before each phase (writing,
training, scoring) the runtime asks `threads()` for as many threads as there are cores
nobody else is using, never fewer than one.

The usable cores are this process's CPU affinity, capped by a cgroup CPU quota (a
container's limit). What others use is read from /proc/stat over a short window, less what
seal's own processes used in it; without /proc (not Linux) others count as idle.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

INTERVAL_SECONDS = 0.5
"""How often the watch reads /proc/stat."""
WINDOW = 3
"""Readings averaged: others' load over the last 1.5 s."""
BUSY_MARGIN = 0.35
"""Other programs' load below this many cores leaves a core ours (a browser ticking over)."""
BUSY_NOTE = 0.5
"""Other programs' load from which the app says the machine is busy."""


@dataclass(frozen=True)
class Load:
    cores: int
    """Cores seal may use: affinity, capped by a cgroup quota."""
    elsewhere: float
    """Cores' worth of CPU other programs used during the reading."""

    @property
    def busy(self) -> bool:
        return self.elsewhere >= BUSY_NOTE

    def describe(self) -> str:
        return (
            f"machine busy: other programs use {self.elsewhere:.1f} of {self.cores} cores, "
            "so seal runs slower than usual"
        )


def usable_cores() -> int:
    """Cores this process may run on: its affinity, capped by a cgroup v2/v1 CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else max(1, cores)


def _cgroup_quota() -> float | None:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return quota_us / period_us if quota_us > 0 else None
    except (OSError, ValueError):
        return None


def choose_threads(cores: int, elsewhere: float, cap: int = 0) -> int:
    """Threads for a phase: the cores left once others' load is taken out (rounded so a
    small load leaves the core ours), at least one, at most `cap` when it is set."""
    free = cores - max(0, math.ceil(elsewhere - BUSY_MARGIN))
    return max(1, min(free, cap) if cap else free)


def _machine_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU time of the whole machine since boot, in clock ticks."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def _process_jiffies(pids: Iterable[int]) -> int:
    """CPU time (user + system, all threads) of the given processes, in clock ticks."""
    used = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return used


class CpuWatch:
    """Watches, in a background thread, how busy the machine is apart from seal's own
    processes (`own_pids`); `current()` and `threads()` answer at once from the latest
    readings (the first call waits for one)."""

    def __init__(
        self, own_pids: Callable[[], Iterable[int]] = lambda: [os.getpid()], interval: float = INTERVAL_SECONDS
    ):
        self.own_pids = own_pids
        self.interval = interval
        self._readings: list[float] = []
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _snapshot(self) -> tuple[int, int, int] | None:
        machine = _machine_jiffies()
        return None if machine is None else (*machine, _process_jiffies(self.own_pids()))

    def _watch(self) -> None:
        before = self._snapshot()
        while before is not None and not self._stop.wait(self.interval):
            now = self._snapshot()
            assert now is not None  # /proc, read once, stays readable
            total = now[1] - before[1]
            if total > 0:
                busy = now[0] - before[0] - (now[2] - before[2])
                self._readings = (self._readings + [max(0.0, busy / total * (os.cpu_count() or 1))])[-WINDOW:]
                self._ready.set()
            before = now
        self._ready.set()  # no /proc: nothing to wait for

    def latest(self) -> Load | None:
        """Others' load over the last few readings, at once (None before the first one)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="seal-cpu-watch", daemon=True)
            self._thread.start()
        readings = self._readings
        return Load(usable_cores(), sum(readings) / len(readings)) if readings else None

    def current(self) -> Load:
        """As latest(), waiting for a first reading (0 where none can be made)."""
        if self.latest() is None:
            self._ready.wait(self.interval * 2)
        return self.latest() or Load(usable_cores(), 0.0)

    def threads(self, cap: int = 0) -> int:
        """Threads for the phase about to start (choose_threads on the current reading)."""
        reading = self.current()
        return choose_threads(reading.cores, reading.elsewhere, cap)

    def close(self) -> None:
        self._stop.set()
