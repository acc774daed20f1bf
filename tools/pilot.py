"""Driving the app headless with Textual's Pilot against the scripted runtime: the tests'
helpers, and the state the README's screenshot shows (tools/docs_screenshot.py)."""

from __future__ import annotations

import time

from engine.config import GenerationConfig, SessionConfig, TrainConfig
from engine.sessions.home import Home
from seal_tui.app import SealApp
from tools.scripted_runtime import FakeRuntime

SAMPLE_CONFIG = SessionConfig(generation=GenerationConfig(candidates=2), train=TrainConfig(epochs=2))


def make_app(runtime: FakeRuntime | None = None) -> SealApp:
    runtime = runtime or FakeRuntime()
    return SealApp(runtime_factory=lambda config: runtime, home=Home())


async def until(pilot, condition, timeout: float = 10.0, what: str = "") -> None:
    """Let the app run until condition() holds (fails the test after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)


async def open_session(pilot, name: str = "demo", config: SessionConfig = SAMPLE_CONFIG, paper=None):
    """Create a session through the app and wait for its screen and model."""
    app = pilot.app
    app.open_session(name, config, paper=str(paper) if paper else None)
    await until(pilot, lambda: getattr(app.screen, "model_state", "") == "ready", what="model ready")
    if paper:
        await until(pilot, lambda: app.screen.session.passages() and not app.screen.busy(), what="paper added")
        await pilot.pause()
    return app.screen


async def learn_two_passages(pilot, sample) -> None:
    """The state the README shows: two passages learned, one candidate vetoed by a person."""
    screen = await open_session(pilot, "velmora", paper=sample)
    await _write_decide_learn(pilot, screen, card=1, key="r", version=1)
    screen.query_one("#passages").focus()
    await pilot.press("down")
    await _write_decide_learn(pilot, screen, card=0, key="a", version=2)
    await settle(pilot)


async def _write_decide_learn(pilot, screen, card: int, key: str, version: int) -> None:
    """Two candidates for the selected passage, `key` pressed on card `card`, then the update
    that makes `version`."""
    await screen.run_action("generate")
    await until(pilot, lambda: not screen.busy() and len(screen.query_one("#cards").cards) == 2, what="candidates")
    await pilot.pause()
    screen.query_one("#cards").cards[card].focus()
    await pilot.pause()
    await pilot.press(key)
    await screen.run_action("update")
    await until(
        pilot, lambda: not screen.busy() and screen.session.current_version == version, what=f"update {version}"
    )


async def settle(pilot) -> None:
    """No toasts, nothing in flight, no blinking cursor: a frame that is the same on every run
    (a cursor that blinks shows or not by how long the machine took to get here)."""
    from textual.widgets import Input

    await pilot.pause()
    pilot.app.clear_notifications()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    for cards in pilot.app.screen.query("#cards"):
        cards.scroll_home(animate=False, immediate=True)
    await pilot.pause()


class WorseThanBase(FakeRuntime):
    """Learning makes every answer less likely: 2.24 under the base model, 7.19 after."""

    def answer_nll(self, adapter, base, items):
        return [2.24 if base else 7.19 for _ in items]


async def write_then_learn(pilot, screen) -> None:
    await screen.run_action("update")  # writes the candidates and stops
    await until(pilot, lambda: not screen.busy(), what="candidates written")
    await screen.run_action("update")
    await until(pilot, lambda: not screen.busy() and screen.session.current_version >= 1, what="update")
    await pilot.pause()
