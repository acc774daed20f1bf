"""The new-session form reads its choices, help and defaults from the engine's declarations:
a policy declared elsewhere is offered with its help, and an empty number field means the
setting's default."""

from __future__ import annotations

import pytest
from textual.widgets import Select

from engine.config import EditorConfig, GenerationConfig, SessionConfig
from engine.selfedits.policies import POLICIES
from seal_tui.screens.session import SessionScreen
from tests.engine.test_vocabulary import FIRST
from tools.pilot import make_app, until

pytestmark = pytest.mark.asyncio


async def test_the_form_offers_a_declared_policy_with_its_help():
    POLICIES.register(FIRST)
    try:
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("n")
            form = app.screen
            form.query_one("#name").value = "first"
            form.query_one("#accept", Select).value = "first"
            await pilot.pause()
            assert "accept: accept only the first candidate" in str(form.query_one("#strategy-help").render())
            await pilot.click("#create")
            await until(pilot, lambda: isinstance(app.screen, SessionScreen), what="session screen")
            assert app.screen.session.config.accept == "first"
    finally:
        POLICIES.unregister(FIRST.name)


async def test_empty_number_fields_mean_the_defaults():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        form = app.screen
        form.query_one("#name").value = "defaults"
        for field in ("#candidates", "#replay", "#editor-every", "#epochs"):
            form.query_one(field).value = ""
        await pilot.click("#create")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen), what="session screen")
        config = app.screen.session.config
        assert config.generation.candidates == GenerationConfig.candidates == 5  # not 0
        assert (config.replay, config.editor.every, config.train.epochs) == (
            SessionConfig.replay,
            EditorConfig.every,
            SessionConfig().train.epochs,
        )


async def test_a_replay_that_is_no_number_is_named_on_the_form():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        form = app.screen
        form.query_one("#name").value = "x"
        form.query_one("#replay").value = "lots"
        await pilot.click("#create")
        await pilot.pause()
        assert "replay must be a number, got 'lots'" in str(form.query_one("#form-error").render())
