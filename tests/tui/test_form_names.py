"""The new-session form checks names the way the CLI and the store do."""

import pytest

from engine.config import SessionConfig
from engine.sessions.home import Home
from seal_tui.screens.new_session import NewSessionScreen
from tools.pilot import make_app

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize(
    "name, message",
    [
        ("a b", "invalid session name"),
        ("..", "invalid session name"),
        ("seal.db", "reserved"),
        ("", "needs a name"),
        ("x" * 65, "65 characters"),
        ("DEMO", "'demo' already exists (names differ only in case)"),
    ],
)
async def test_a_bad_name_is_a_message_on_the_form(name, message):
    Home().create("demo", SessionConfig())
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        form = app.screen
        form.query_one("#name").value = name
        await pilot.click("#create")
        await pilot.pause()
        assert app.screen is form and isinstance(form, NewSessionScreen)
        assert message in str(form.query_one("#form-error").render())
    assert [s.name for s in Home().sessions()] == ["demo"]


async def test_the_form_turns_on_the_models_answers():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        app.screen.query_one("#name").value = "answers"
        app.screen.query_one("#answers").value = "on"
        await pilot.click("#create")
        await pilot.pause()
    assert Home().open("answers", read_only=True).config.greedy_answers
