"""What the app does when a session is shared, busy or left: read-only opens while another
process writes, decisions frozen while work reads them, and a session given back (model
closed, writer lock released) when a person leaves it or quits."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.papers.ingest import read_paper
from engine.session_lock import WriterLock
from engine.sessions.home import Home
from engine.sessions.session import NoModel
from seal_tui.screens.confirm_quit import ConfirmQuitScreen
from seal_tui.screens.help import HelpScreen
from seal_tui.screens.history import HistoryScreen
from seal_tui.screens.session import SessionScreen
from seal_tui.screens.session_access import FROZEN
from seal_tui.screens.sessions import SessionsScreen
from seal_tui.widgets.heatmap import Heatmap
from tools.pilot import SAMPLE_CONFIG, make_app, open_session, until
from tools.scripted_runtime import CANNED, FakeRuntime

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]
HOLD = (
    "import sys, time\n"
    "from engine.session_lock import WriterLock\n"
    "WriterLock(sys.argv[1], sys.argv[2]).acquire()\n"
    "print('held', flush=True)\n"
    "time.sleep(120)\n"
)


class Counted(FakeRuntime):
    """Records closes; a load may take a while."""

    def __init__(self, load_delay: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.load_delay = load_delay
        self.closed = 0

    def load(self):
        time.sleep(self.load_delay)
        super().load()

    def close(self):
        self.closed += 1


class Gated(Counted):
    """Training and filter trials wait, once entered, until the test opens the gate; the two
    candidates differ, so the gate lets both through to a trial."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.entered, self.gate = threading.Event(), threading.Event()

    def stream_chat(self, messages, config, stop=None):
        self.text = (
            CANNED
            if len(self.seeds) % 2 == 0
            else (
                "Implications:\n- Ilse Narrowgate founded the Velmora Observatory on Quenby in 1873.\n"
                "- The Brass Eye is the observatory's great telescope."
            )
        )
        yield from super().stream_chat(messages, config, stop)

    def _wait(self, stop):
        self.entered.set()
        while not self.gate.wait(0.02):
            if stop is not None and stop.is_set():
                return

    def train(self, start, examples, config, on_step=None, stop=None, guards=None):
        self._wait(stop)
        return super().train(start, examples, config, on_step, stop, guards)

    def trial(self, start, examples, config, items, stop=None, greedy_prompts=None, guards=None):
        self._wait(stop)
        return super().trial(start, examples, config, items, stop, greedy_prompts, guards)


@pytest.fixture
def other_writer(seal_home):
    """Start a process that holds a session's writer lock until the test ends (or kills it)."""
    started = []

    def start(name: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(seal_home / name), name], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        started.append(proc)
        assert proc.stdout is not None  # stdout=PIPE
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


def cards(screen):
    return screen.query_one("#cards").cards


def prepare(name: str, sample, learn: bool = False) -> None:
    """A session with a paper and two candidates, the first accepted by a person."""
    home = Home()
    session = home.open(name, SAMPLE_CONFIG, FakeRuntime())
    for draft in read_paper(sample, session.config.passage_tokens, session.config.max_passages):
        session.add_paper(draft)
    passage = session.passages()[0]
    first, _ = session.generate(passage)
    session.decide(first.id, True)
    if learn:
        session.step(passage)
    session.close()
    home.close()


def stored(name: str):
    """Everything a key could change, as the store holds it."""
    home = Home()
    session = home.open(name, read_only=True)
    passages = session.passages()
    edits = [(e.id, e.status, e.decided_by, e.text) for p in passages for e in session.self_edits(p.id)]
    state = (
        [(p.id, p.status) for p in passages],
        edits,
        len(session.updates()),
        session.current_version,
        len(session.scores()),
        len(session.editor_rounds()),
    )
    home.close()
    return state


def holder(name: str):
    return WriterLock(Home().path / name, name).holder()


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await pilot.pause()


async def test_a_session_another_process_writes_opens_read_only_and_refuses_every_write(sample, other_writer):
    prepare("x", sample)
    writer = other_writer("x")
    built = []
    app = make_app()
    app.runtime_factory = lambda config: built.append(config) or FakeRuntime()
    before = stored("x")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        listed = str(app.screen.query_one("#session-list").get_option_at_index(0).prompt)
        assert f"open in process {writer.pid}" in listed
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.session is not None)
        screen = app.screen
        await pilot.pause()
        assert "read-only" in screen.title and f"read-only: process {writer.pid}" in screen.sub_title
        assert any(f"process {writer.pid}" in m and "read-only" in m for m in messages(app)), messages(app)
        assert [c.status for c in cards(screen)] == ["accepted", "pending"]
        app.clear_notifications()
        await press(pilot, "p", "s", "g", "A", "R", "f", "i", "u")
        screen.query_one(Heatmap).focus()
        await press(pilot, "z")
        cards(screen)[1].focus()
        await press(pilot, "a", "r", "e", "x")
        assert app.screen is screen  # no dialog opened
        refused = messages(app)
        assert len(refused) == 13
        assert all(m == f"Read-only: process {writer.pid} (-c x) is writing this session." for m in refused)
        assert stored("x") == before
        assert built == [] and screen.model_state == "read-only"
        # looking still works
        await press(pilot, "m")
        assert screen.query_one(Heatmap).matrix.metric == "f1"
        await press(pilot, "h")
        assert isinstance(app.screen, HistoryScreen)
        await press(pilot, "escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "escape")
        assert app.screen is screen


async def test_once_the_other_process_is_gone_the_session_opens_for_writing(sample, other_writer):
    prepare("x", sample)
    writer = other_writer("x")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.session is not None)
        screen = app.screen
        assert screen.session.read_only
        writer.kill()
        writer.wait()
        await until(
            pilot,
            lambda: f"process {writer.pid} (-c x) has closed x" in " ".join(messages(app)),
            timeout=5,
            what="the writer has left",
        )
        assert "has closed it" in screen.sub_title
        await press(pilot, "A")
        assert messages(app)[-1].startswith(f"Read-only: process {writer.pid} (-c x) has closed this session: b, then")
        await press(pilot, "b")
        assert isinstance(app.screen, SessionsScreen)
        assert "open in process" not in str(app.screen.query_one("#session-list").get_option_at_index(0).prompt)
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "model_state", "") == "ready", what="model ready")
        screen = app.screen
        assert not screen.session.read_only and screen.session.lock is not None
        assert "read-only" not in screen.title
        holds = holder("x")  # the dead process's lock is taken over: this process writes now
        assert holds is not None and holds.pid != writer.pid
        await press(pilot, "R")
        assert {e.status for e in screen.session.self_edits(screen.passage_id)} == {"rejected"}


async def test_the_read_only_view_follows_what_the_writer_stores(sample, other_writer):
    prepare("x", sample)
    other_writer("x")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_session("x")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.session is not None)
        screen = app.screen
        home = Home()  # stands in for the other process: writes straight to the store
        edit = home.store.self_edits(screen.passage_id)[1]
        home.store.decide_self_edit(edit.id, "rejected", "person", "")
        home.close()
        await until(pilot, lambda: cards(screen)[1].status == "rejected", timeout=5, what="the view follows")


async def test_decisions_are_frozen_while_an_update_trains(sample):
    runtime = Gated()
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await screen.run_action("generate")
        await until(pilot, lambda: not screen.busy() and len(cards(screen)) == 2, what="candidates")
        await pilot.pause()
        cards(screen)[0].focus()
        await press(pilot, "a")  # the second stays pending: the policy decides it when the update starts
        await screen.run_action("update")  # the accept policy (the heuristic gate) runs no trial
        await until(pilot, lambda: runtime.entered.is_set(), what="training")
        await pilot.pause()
        at_start = screen.session.self_edits(screen.passage_id)
        app.clear_notifications()
        await press(pilot, "r")
        cards(screen)[1].focus()
        await press(pilot, "a", "e", "A", "R", "g")
        assert app.screen is screen  # no edit dialog
        assert screen.busy() == "running the update"
        assert messages(app) == [FROZEN["update"]] * 6
        assert screen.session.self_edits(screen.passage_id) == at_start
        assert [(c.status, c.decided_by) for c in cards(screen)] == [(e.status, e.decided_by) for e in at_start]
        runtime.gate.set()
        await until(pilot, lambda: not screen.busy(), what="update done")
        update = screen.session.updates()[-1]
        accepted = [e.id for e in at_start if e.status == "accepted"]
        assert accepted and update.params["edit_ids"] == accepted
        cards(screen)[0].focus()
        await press(pilot, "r")  # after it ends the passage is learned: its decisions stay what v1 trained
        assert screen.session.self_edits(screen.passage_id) == at_start
        assert any("P1 is learned (v1 trained on these decisions)" in m for m in messages(app))


async def test_decisions_are_frozen_while_the_filter_runs_and_the_cards_match_the_store(sample):
    runtime = Gated()
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await screen.run_action("generate")
        await until(pilot, lambda: not screen.busy() and len(cards(screen)) == 2, what="candidates")
        await pilot.pause()
        cards(screen)[0].focus()
        await press(pilot, "r")  # a person's decision before the filter stays
        await screen.run_action("filter")
        await until(pilot, lambda: runtime.entered.is_set(), what="filter trial")
        app.clear_notifications()
        cards(screen)[1].focus()
        await press(pilot, "a", "r", "A", "R")
        assert messages(app).count(FROZEN["filter"]) == 4  # beside the filter's own estimate
        runtime.gate.set()
        await until(pilot, lambda: not screen.busy(), what="filter done")
        await pilot.pause()
        edits = screen.session.self_edits(screen.passage_id)
        assert (edits[0].status, edits[0].decided_by) == ("rejected", "person")
        assert edits[1].decided_by == "filter"
        assert [(c.status, c.decided_by) for c in cards(screen)] == [(e.status, e.decided_by) for e in edits]


async def test_leaving_a_session_closes_its_model_and_releases_its_lock(sample: Path) -> None:
    made: list[Counted] = []

    def factory(config):
        made.append(Counted())
        return made[-1]

    app = make_app()
    app.runtime_factory = factory
    async with app.run_test(size=(100, 30)) as pilot:
        for round_ in range(3):  # one session after another keeps one model at most
            screen = await open_session(pilot, "demo")
            assert holder("demo") is not None
            assert [r.closed for r in made] == [1] * round_ + [0]
            await press(pilot, "b")
            assert isinstance(app.screen, SessionsScreen)
            assert [r.closed for r in made] == [1] * (round_ + 1)
            assert screen.session.lock is None and isinstance(screen.session.runtime, NoModel)
            assert holder("demo") is None


async def test_a_model_still_loading_when_the_person_leaves_is_closed_not_attached():
    runtime = Counted(load_delay=3.0)  # long enough that b comes first on a loaded machine
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_session("slow", SAMPLE_CONFIG)
        await until(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.session is not None)
        screen = app.screen
        assert screen.model_state == "loading"
        await press(pilot, "b")
        assert isinstance(app.screen, SessionsScreen) and holder("slow") is None
        await until(pilot, lambda: runtime.closed == 1, what="the late model closed")
        await pilot.pause(0.1)
        assert isinstance(screen.session.runtime, NoModel) and screen.model_state == "loading"


async def test_quitting_gives_the_session_back():
    runtime = Counted()
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_session(pilot, "demo")
        assert holder("demo") is not None
        await pilot.press("q")
    assert runtime.closed == 1 and holder("demo") is None


async def test_quitting_during_an_update_gives_the_session_back_once_it_stops(sample):
    runtime = Counted(step_delay=0.2)
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, "demo", paper=sample)
        await screen.run_action("update")  # u on a passage without candidates writes them and stops for review
        await until(pilot, lambda: not screen.busy(), what="candidates written")
        await screen.run_action("update")
        await until(pilot, app.training, what="training")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmQuitScreen))
        await pilot.press("y")
    deadline = time.monotonic() + 5
    while holder("demo") is not None and time.monotonic() < deadline:
        time.sleep(0.05)  # the update stops after the step in flight, then gives the session back
    assert holder("demo") is None and runtime.closed == 1
    assert screen.session.updates() == []  # cancelled: nothing half-written


async def test_a_session_that_cannot_be_opened_is_a_notification_and_back_to_the_list(monkeypatch):
    app = make_app()
    Home().create("broken", SAMPLE_CONFIG)

    def fail(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        monkeypatch.setattr(app.home, "open", fail)
        await pilot.press("enter")
        await until(pilot, lambda: any("disk I/O error" in m for m in messages(app)), what="error note")
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)


async def test_a_model_other_than_the_sessions_is_refused_with_the_engines_words(sample):
    prepare("x", sample, learn=True)
    runtime = Counted()
    runtime.model_identity = "other-model.gguf 2000 fedcba9876543210"
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_session("x")
        await until(pilot, lambda: getattr(app.screen, "model_state", "") == "failed", what="refused")
        assert app.screen.model_error.startswith("session 'x' was trained on fake-model.gguf")
        await until(pilot, lambda: app.screen.model_error in messages(app), what="shown as it is")
        assert runtime.closed == 1  # the refused model is not kept loaded
