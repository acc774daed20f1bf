"""One writer per session, many processes per home (fast: the fake runtime, real processes)."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import GenerationConfig, SessionConfig, TrainConfig
from engine.papers.ingest import read_paper
from engine.session_lock import ReadOnlySession, SessionLocked, WriterLock
from engine.sessions.home import Home
from tools.scripted_runtime import FakeRuntime

ROOT = Path(__file__).resolve().parents[2]
CONFIG = SessionConfig(generation=GenerationConfig(candidates=2), train=TrainConfig(epochs=1), accept="all")

HOLD = """
import sys, time
from engine.sessions.home import Home
from tools.scripted_runtime import FakeRuntime
session = Home(sys.argv[1]).open(sys.argv[2], runtime=FakeRuntime())
print("held", flush=True)
time.sleep(120)
"""

ATTEMPTS = """
import json, sys
from engine.sessions.home import Home
from engine.session_lock import SessionLocked
home = Home(sys.argv[1])
refused = []
for _ in range(int(sys.argv[3])):
    try:
        home.open(sys.argv[2]).close()
        refused.append(None)
    except SessionLocked as exc:
        refused.append(str(exc))
print(json.dumps(refused))
"""

RACE = """
import json, os, sys, time
from engine.sessions.home import Home
from engine.session_lock import SessionLocked
from tools.scripted_runtime import FakeRuntime
home = Home(sys.argv[1])
held, refused = [], 0
for _ in range(int(sys.argv[3])):
    try:
        session = home.open(sys.argv[2], runtime=FakeRuntime())
    except SessionLocked:
        refused += 1
        continue
    start = time.monotonic_ns()
    time.sleep(0.002)
    held.append((start, time.monotonic_ns()))
    session.close()
print(json.dumps({"held": held, "refused": refused}))
"""

FRESH = """
import sys
from engine.sessions.home import Home
from tools.scripted_runtime import FakeRuntime
home = Home(sys.argv[1])
home.open(sys.argv[2], runtime=FakeRuntime()).close()
print(len(home.sessions()))
"""


def python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


@pytest.fixture
def holder(seal_home):
    """Another process writing session 'demo' until the test kills it."""
    Home(seal_home).open("demo", CONFIG, FakeRuntime()).close()
    proc = python(HOLD, str(seal_home), "demo")
    assert proc.stdout.readline().strip() == "held", proc.stderr.read()
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_writer_is_refused_every_time_and_told_who_holds_it(seal_home, holder):
    proc = python(ATTEMPTS, str(seal_home), "demo", "100")
    out, err = proc.communicate(timeout=120)
    refused = json.loads(out)
    assert len(refused) == 100 and all(refused), err
    assert all(f"process {holder.pid}" in message and "since" in message for message in refused)


def test_a_read_only_open_works_beside_the_writer_and_refuses_writes(seal_home, fixtures, holder):
    session = Home(seal_home).open("demo", read_only=True)
    assert f"process {holder.pid}" in session.read_only
    assert session.passages() == [] and session.matrix().rows == [0]
    with pytest.raises(ReadOnlySession, match="read-only"):
        session.add_paper(read_paper(fixtures / "velmora.md")[0])
    assert Home(seal_home).open("demo", read_only=True).passages() == []


def test_the_lock_of_a_killed_writer_is_taken_over(seal_home, holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lock = WriterLock(seal_home / "demo", "demo")
    assert lock.holder() is None
    session = Home(seal_home).open("demo", runtime=FakeRuntime())
    assert not session.read_only and lock.holder().pid == os.getpid()
    session.close()


def test_two_processes_racing_for_one_session_never_write_at_once(seal_home):
    Home(seal_home).open("race", CONFIG, FakeRuntime()).close()
    procs = [python(RACE, str(seal_home), "race", "100") for _ in range(2)]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    spans = sorted(span for r in results for span in r["held"])
    assert sum(len(r["held"]) + r["refused"] for r in results) == 200
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), "two writers at once"


def test_ten_processes_open_a_fresh_home_at_once(tmp_path):
    home = tmp_path / "fresh-home"
    procs = [python(FRESH, str(home), f"s{i}") for i in range(10)]
    outcomes = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert [code for code, _ in outcomes] == [0] * 10, [err for _, err in outcomes if err][:1]
    assert sorted(s.name for s in Home(home).sessions()) == sorted(f"s{i}" for i in range(10))


def test_a_process_may_open_a_session_twice_and_the_lock_goes_with_the_last_close(seal_home):
    home = Home(seal_home)
    first = home.open("twice", CONFIG, FakeRuntime())
    second = home.open("twice", runtime=FakeRuntime())
    first.close()
    probe = python(ATTEMPTS, str(seal_home), "twice", "1")
    assert json.loads(probe.communicate(timeout=60)[0])[0], "still held by the second open"
    second.close()
    probe = python(ATTEMPTS, str(seal_home), "twice", "1")
    assert json.loads(probe.communicate(timeout=60)[0]) == [None]


def test_a_refused_open_of_a_new_session_leaves_no_folder(seal_home, holder):
    with pytest.raises(SessionLocked):
        Home(seal_home).open("demo", runtime=FakeRuntime())
    session = Home(seal_home).open("solo", CONFIG, FakeRuntime())
    session.close()
    assert not (seal_home / "solo").exists(), "an empty session folder goes with its lock"
    assert os.listdir(seal_home / "demo") == [".lock"]


LATE_STAMP = """
import fcntl, json, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0)
print("locked", flush=True)
time.sleep(0.3)  # a writer between taking the lock and writing who it is
os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": "2026-01-01T00:00:00+00:00", "command": "seal run"}).encode(), 0)
time.sleep(30)
"""


def test_asking_for_the_holder_while_the_writer_exits_answers_nobody(tmp_path, monkeypatch):
    """The writer removes its lock file between the check that it exists and the open."""
    folder = tmp_path / "demo"
    folder.mkdir()
    lock = WriterLock(folder, "demo")
    lock.path.write_text("{}")
    real_open = os.open

    def exiting_writer(path, *args, **kwargs):
        if Path(path) == lock.path:
            lock.path.unlink(missing_ok=True)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("engine.session_lock.os.open", exiting_writer)
    assert lock.holder() is None


def test_a_writer_that_takes_over_a_new_lock_file_is_named(tmp_path, monkeypatch):
    """Between opening the old lock file and locking it, its writer left and another took a
    new file: the new one is the holder, not the free old file."""
    folder = tmp_path / "demo"
    folder.mkdir()
    lock = WriterLock(folder, "demo")
    lock.path.write_text("{}")
    real_open = os.open
    started: list[subprocess.Popen] = []

    def writer_changes(path, *args, **kwargs):
        fd = real_open(path, *args, **kwargs)
        if Path(path) == lock.path and not started:
            lock.path.unlink()
            started.append(
                subprocess.Popen(
                    [sys.executable, "-c", HOLD, str(tmp_path), "demo"], cwd=ROOT, stdout=subprocess.PIPE, text=True
                )
            )
            assert started[0].stdout is not None and started[0].stdout.readline().strip() == "held"
        return fd

    monkeypatch.setattr("engine.session_lock.os.open", writer_changes)
    try:
        found = lock.holder()
        assert found is not None and found.pid == started[0].pid
    finally:
        for process in started:
            process.kill()
            process.wait()


def test_a_writer_that_has_not_yet_written_its_name_is_still_a_holder(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    lock = WriterLock(folder, "demo")
    writer = subprocess.Popen([sys.executable, "-c", LATE_STAMP, str(lock.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "locked"
        found = lock.holder()
        assert found is not None and found.pid == writer.pid and found.command == "seal run"
    finally:
        writer.kill()
        writer.wait()
