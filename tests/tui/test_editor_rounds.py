"""The self-improving editor in the app: i runs a round, cards name the round that wrote
them, history compares rounds, the form sets automatic rounds (scripted runtime)."""

from __future__ import annotations

import pytest

from seal_tui.screens.history import HistoryScreen
from seal_tui.screens.session import SessionScreen
from seal_tui.widgets.editor_rounds import EditorRounds
from tools.pilot import learn_two_passages, make_app, open_session, until
from tools.scripted_runtime import FakeRuntime

pytestmark = pytest.mark.asyncio


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_i_trains_the_editor_and_new_cards_say_which_round_wrote_them(sample):
    runtime = FakeRuntime()
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await learn_two_passages(pilot, sample)
        screen = app.screen
        screen.query_one("#passages").focus()
        await pilot.press("i")
        await until(pilot, lambda: not screen.busy() and screen.session.editor_rounds(), what="editor round")
        await pilot.pause()
        assert any("Editor round 1" in m and "2 kept self-edits" in m for m in messages(app))
        assert "editor r1" in screen.sub_title
        assert "editor round 1 writes the next candidates" in str(screen.query_one("#update-status").render())
        await pilot.press("down")
        await screen.run_action("generate")
        await until(pilot, lambda: not screen.busy() and len(screen.query_one("#cards").cards) == 2, what="candidates")
        await pilot.pause()
        card = screen.query_one("#cards").cards[0]
        assert card.editor_round == 1 and "editor r1" in str(card.render().renderables[0])
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.pause()
        shown = app.export_screenshot().replace("&#160;", " ")
        assert "editor rounds" in shown and "r1" in shown and "person" in shown
        assert app.screen.query_one(EditorRounds).region.height > 2


async def test_i_without_enough_kept_edits_explains_and_runs_nothing(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await pilot.press("i")
        await pilot.pause()
        assert any("needs at least 2 kept self-edits; this session has 0" in m for m in messages(app))
        assert not screen.busy() and screen.session.editor_rounds() == []


async def test_form_sets_epochs_and_automatic_editor_rounds():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        form = app.screen
        form.query_one("#name").value = "auto-editor"
        form.query_one("#editor-every").value = "x"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "editor-every must be a whole number" in str(form.query_one("#form-error").render())
        form.query_one("#editor-every").value = "2"
        form.query_one("#epochs").value = "0"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "epochs must be 1..100" in str(form.query_one("#form-error").render())
        form.query_one("#epochs").value = "4"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen), what="session screen")
        config = app.screen.session.config
        assert config.editor.every == 2 and config.train.epochs == 4
