"""Thread choices follow the cores seal is given and what other programs use."""

import os

import pytest

from engine.config import ModelConfig, TrainConfig
from engine.runtime import cores
from engine.runtime.cores import CpuWatch, Load, choose_threads, usable_cores
from tests.conftest import embedded_model_available


@pytest.mark.parametrize(
    "given, elsewhere, threads",
    [
        (2, 0.0, 2),
        (2, 0.3, 2),
        (2, 0.6, 1),
        (2, 1.0, 1),
        (2, 2.0, 1),
        (2, 3.5, 1),
        (8, 0.0, 8),
        (8, 1.0, 7),
        (8, 3.2, 5),
        (1, 0.0, 1),
        (16, 15.9, 1),
    ],
)
def test_threads_are_the_cores_nobody_else_uses(given, elsewhere, threads):
    assert choose_threads(given, elsewhere) == threads


def test_a_cap_bounds_the_threads():
    assert choose_threads(8, 0.0, cap=3) == 3 and choose_threads(8, 6.0, cap=3) == 2


def test_usable_cores_follow_affinity_and_a_cgroup_quota(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(cores, "_cgroup_quota", lambda: None)
    assert usable_cores() == 4
    monkeypatch.setattr(cores, "_cgroup_quota", lambda: 1.5)  # a container's "150000 100000"
    assert usable_cores() == 2
    monkeypatch.setattr(cores, "_cgroup_quota", lambda: 0.5)
    assert usable_cores() == 1


def test_the_watch_counts_other_programs_and_not_seals_own(monkeypatch):
    """4 cores; per reading 400 ticks pass, 250 busy, 100 of them seal's own: 1.5 cores elsewhere."""
    ticks = iter(range(0, 10_000, 1))
    state = {"busy": 0, "total": 0, "own": 0}

    def machine():
        next(ticks)
        state["busy"] += 250
        state["total"] += 400
        state["own"] += 100
        return state["busy"], state["total"]

    monkeypatch.setattr(cores, "_machine_jiffies", machine)
    monkeypatch.setattr(cores, "_process_jiffies", lambda pids: state["own"])
    monkeypatch.setattr(cores, "usable_cores", lambda: 4)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    watch = CpuWatch(interval=0.01)
    reading = watch.current()
    watch.close()
    assert reading == Load(4, 1.5) and reading.busy
    assert "other programs use 1.5 of 4 cores" in reading.describe()


def test_without_proc_others_count_as_idle(monkeypatch):
    monkeypatch.setattr(cores, "_machine_jiffies", lambda: None)
    monkeypatch.setattr(cores, "usable_cores", lambda: 3)
    watch = CpuWatch(interval=0.01)
    assert watch.current() == Load(3, 0.0) and watch.threads() == 3


class FixedLoad:
    def __init__(self, given, elsewhere):
        self.given, self.elsewhere = given, elsewhere

    def threads(self, cap=0):
        return choose_threads(self.given, self.elsewhere, cap)

    def close(self):
        pass


@pytest.mark.skipif(not embedded_model_available(), reason="embedded model not installed")
def test_the_runtime_asks_for_the_free_cores_unless_threads_are_fixed():
    from engine.runtime.local import LocalRuntime
    from engine.runtime.protocol import LoraShape

    runtime = LocalRuntime(ModelConfig(), LoraShape.of(TrainConfig()))
    runtime.cpu = FixedLoad(4, 0.0)
    assert runtime.threads() == 4
    runtime.cpu = FixedLoad(4, 1.0)
    assert runtime.threads() == 3
    runtime.cpu = FixedLoad(2, 2.0)
    assert runtime.threads() == 1
    fixed = LocalRuntime(ModelConfig(threads=2), LoraShape.of(TrainConfig()))
    fixed.cpu = FixedLoad(4, 3.0)
    assert fixed.threads() == 2
