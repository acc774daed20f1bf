"""The reward filter, rollback, replay in the form, and the strategy table, driven by Pilot
against the scripted runtime."""

from __future__ import annotations

import time

import pytest

from seal_tui.screens.confirm import ConfirmScreen
from seal_tui.screens.history import HistoryScreen
from seal_tui.screens.session import SessionScreen
from seal_tui.widgets.heatmap import Heatmap
from seal_tui.widgets.strategy_stats import StrategyStats
from seal_tui.widgets.update_progress import UpdateProgress
from tools.pilot import learn_two_passages, make_app, open_session, until
from tools.scripted_runtime import CANNED, FakeRuntime

pytestmark = pytest.mark.asyncio


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


def cards(screen):
    return screen.query_one("#cards").cards


class SlowTrials(FakeRuntime):
    """Trials that take a while, so a person can cancel during the second; each candidate is
    written differently, so the gate lets both through to a trial."""

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

    trials_begun = 0

    def trial(self, start, examples, config, items, stop=None, greedy_prompts=None, guards=None):
        # the first trial takes a moment; later ones last until the person cancels (at most 20 s),
        # so "trial 1/2" stays on screen however slowly the test machine runs
        self.trials_begun += 1
        deadline = time.monotonic() + (0.4 if self.trials_begun == 1 else 20.0)
        while time.monotonic() < deadline:
            if stop is not None and stop.is_set():
                return None
            time.sleep(0.02)
        return super().trial(start, examples, config, items, stop, greedy_prompts)


async def written(pilot, screen) -> None:
    await screen.run_action("generate")
    await until(pilot, lambda: not screen.busy() and len(cards(screen)) == 2, what="candidates")
    await pilot.pause()


async def test_filter_key_decides_the_cards_and_shows_their_reward(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await written(pilot, screen)
        await pilot.press("f")
        await until(
            pilot, lambda: not screen.busy() and all(c.status != "pending" for c in cards(screen)), what="filter"
        )
        await pilot.pause()
        edits = screen.session.self_edits(screen.passage_id)
        # the canned second candidate repeats the first: the gate drops it before any trial
        assert [(e.status, e.decided_by) for e in edits] == [("accepted", "filter"), ("rejected", "heuristic")]
        first, second = cards(screen)
        assert (first.status, first.decided_by, first.reward) == ("accepted", "filter", 4.0)
        drawn = "\n".join(str(line) for line in first.render().renderables)
        assert "by filter" in drawn and "reward +4.00 · damage +0.00" in drawn and "rank 1" in drawn
        assert second.reward is None and "reward" not in str(second.render().renderables[-1])
        assert any("about" in m and "trial" in m for m in messages(app))  # the estimate came first
        assert "kept 1" in str(screen.query_one("#update-status").render())
        titles = {c.title for c in app.get_system_commands(screen)}
        assert {
            "Run the reward filter on undecided candidates",
            "Roll back to the selected heatmap row's version",
        } <= titles
        # a person still overrules the filter
        first.focus()
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert screen.session.self_edits(screen.passage_id)[0].decided_by == "person"
        assert cards(screen)[0].status == "rejected" and cards(screen)[0].reward == 4.0


async def test_escape_stops_the_filter_and_leaves_the_rest_pending(sample):
    app = make_app(SlowTrials())
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await written(pilot, screen)
        await screen.run_action("filter")
        progress = screen.query_one(UpdateProgress)
        await until(pilot, lambda: "trial 1/2" in str(progress.query_one("#update-loss").render()), what="first trial")
        await pilot.press("escape")
        await until(pilot, lambda: not screen.busy(), what="cancelled")
        await pilot.pause()
        statuses = [e.status for e in screen.session.self_edits(screen.passage_id)]
        assert statuses == ["accepted", "pending"]
        assert [c.status for c in cards(screen)] == ["accepted", "pending"]
        assert "left pending" in str(progress.query_one("#update-status").render())


async def test_z_rolls_back_after_a_confirm_and_dims_the_abandoned_row(sample):
    runtime = FakeRuntime()
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await learn_two_passages(pilot, sample)
        screen = app.screen
        heatmap = screen.query_one(Heatmap)
        heatmap.focus()
        await pilot.pause()
        await pilot.press("up")  # the v1 row
        await pilot.press("z")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert str(app.screen.query_one("#question").render()) == (
            "Make v1 current again? v2 stays in the history as abandoned."
        )
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen) and not screen.busy(), what="rolled back")
        await pilot.pause()
        assert screen.session.current_version == 1
        assert heatmap.matrix.abandoned == {2}
        assert heatmap.matrix.rows == [0, 1, 2]  # the abandoned row stays in view
        assert "v2 abandoned" in heatmap.render().plain
        assert screen.session.passages()[1].status == "edits"  # only v2 had learned it
        assert runtime.active == [screen.session.adapter_for(1)]  # generation followed
        assert "v1" in str(screen.query_one("#stats").render())
        assert any("v1 is current again" in m for m in messages(app))
        # the next update continues from v1 and the abandoned v2 stays in the history
        await screen.run_action("update")
        await until(pilot, lambda: not screen.busy() and screen.session.current_version == 3, what="update 3")
        await pilot.pause()
        assert screen.session.updates()[-1].parent_version == 1
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        assert "abandoned" in str(app.screen.query(".update-entry")[1].query("Static").first().render())


async def test_z_on_the_current_row_or_declined_changes_nothing(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await screen.run_action("update")  # u on a passage without candidates writes them and stops for review
        await until(pilot, lambda: not screen.busy(), what="candidates written")
        await screen.run_action("update")
        await until(pilot, lambda: not screen.busy() and screen.session.current_version == 1)
        await pilot.pause()
        screen.query_one(Heatmap).focus()
        await pilot.press("z")
        await pilot.pause()
        assert any("already the current version" in m for m in messages(app))
        await pilot.press("up", "z")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Make base current again? v1 stays" in str(app.screen.query_one("#question").render())
        await pilot.press("n")
        await pilot.pause()
        assert screen.session.current_version == 1 and screen.query_one(Heatmap).matrix.abandoned == set()


async def test_form_creates_a_filter_session_with_replay():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        form = app.screen
        form.query_one("#name").value = "filtered"
        form.query_one("#accept").value = "filter"
        form.query_one("#replay").value = "20"
        await pilot.click("#create")
        await pilot.pause()
        assert "replay must be 0..10" in str(form.query_one("#form-error").render())
        form.query_one("#replay").value = "0.5"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen), what="session screen")
        config = app.screen.session.config
        assert config.accept == "filter" and config.replay == 0.5


async def test_history_shows_strategy_stats(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await written(pilot, screen)
        await pilot.press("f")
        await until(
            pilot, lambda: not screen.busy() and all(c.status != "pending" for c in cards(screen)), what="filter"
        )
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.pause()
        shown = app.export_screenshot()
        assert "implications" in shown and "50%" in shown and "+4.00" in shown
        assert app.screen.query_one(StrategyStats).region.height > 2


async def test_footer_fits_100_columns_in_its_widest_state(sample):
    """A focused card (a, r, e) while work runs (Esc) is the longest footer; heatmap adds z."""
    from textual.widgets import Footer

    app = make_app(FakeRuntime(step_delay=0.3))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await written(pilot, screen)
        for focus in (lambda: cards(screen)[0].focus(), lambda: screen.query_one(Heatmap).focus()):
            focus()
            await screen.run_action("update")
            await until(pilot, screen.training, what="training")
            await pilot.pause(0.2)
            # the footer recomposes as the bindings change: read it once it stands
            await until(pilot, lambda: len(screen.query_one(Footer).children) > 1, what="the footer composed")
            items = list(screen.query_one(Footer).children)
            keys, palette = items[:-1], items[-1]
            assert "esc" in [getattr(k, "key_display", "") for k in keys]
            assert max(k.region.right for k in keys) <= palette.region.x
            await pilot.press("escape")
            await until(pilot, lambda: not screen.busy(), what="cancelled")
