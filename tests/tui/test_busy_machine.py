"""The app says why work is slow when other programs hold cores."""

import pytest

from engine.runtime.cores import Load
from seal_tui.screens import session as session_screen
from seal_tui.widgets.update_progress import UpdateProgress
from tools.pilot import make_app, open_session, until
from tools.scripted_runtime import FakeRuntime

pytestmark = pytest.mark.asyncio


async def test_a_busy_machine_is_named_beside_the_progress_and_gone_when_idle(monkeypatch, fixtures):
    monkeypatch.setattr(session_screen, "MACHINE_S", 0.05)
    runtime = FakeRuntime(step_delay=0.3)
    runtime.machine = Load(2, 1.2)
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=fixtures / "velmora.md")
        line = screen.query_one(UpdateProgress).query_one("#update-machine")
        assert not line.display
        await pilot.press("u")  # u on a passage without candidates writes them and stops for review
        await until(pilot, lambda: not screen.busy(), what="candidates written")
        await pilot.press("u")
        await until(pilot, lambda: line.display, what="the busy note")
        assert "other programs use 1.2 of 2 cores" in str(line.render())
        runtime.machine = Load(2, 0.1)
        await until(pilot, lambda: not line.display, what="the note gone on a quiet machine")
        runtime.machine = Load(2, 1.2)
        runtime.step_delay = 0.0  # the rest of the update need not take time
        await until(pilot, lambda: not screen.busy(), timeout=60, what="the update done")
        await pilot.pause()
        assert not line.display
