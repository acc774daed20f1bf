"""Snapshots of the main screens at the smallest supported size and a wide one.

Update the baselines after an intended change with `pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tools.pilot import learn_two_passages, make_app, settle, until

SIZES = [pytest.param((100, 30), id="100x30"), pytest.param((160, 48), id="160x48")]


@pytest.mark.parametrize("size", SIZES)
def test_first_run_offers_the_demo(snap_compare, size):
    assert snap_compare(make_app(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_session_screen_after_two_updates(snap_compare, size, sample):
    async def run_before(pilot):
        await learn_two_passages(pilot, sample)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_history_screen(snap_compare, size, sample):
    async def run_before(pilot):
        await learn_two_passages(pilot, sample)
        await pilot.press("h")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


def test_new_session_form(snap_compare):
    async def run_before(pilot):
        await pilot.press("n")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(100, 30), run_before=run_before)


def test_add_paper_dialog(snap_compare, sample):
    async def run_before(pilot):
        pilot.app.open_session("empty", pilot.app.home.config_for("empty"))
        await until(pilot, lambda: getattr(pilot.app.screen, "model_state", "") == "ready")
        await pilot.press("p")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(100, 30), run_before=run_before)


def test_help_screen(snap_compare):
    async def run_before(pilot):
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(100, 30), run_before=run_before)


def test_session_screen_after_a_rollback(snap_compare, sample):
    async def run_before(pilot):
        await learn_two_passages(pilot, sample)
        screen = pilot.app.screen
        screen.query_one("#heatmap").focus()
        await pilot.press("up", "z")
        await until(pilot, lambda: pilot.app.screen is not screen, what="confirm")
        await pilot.press("y")
        await until(pilot, lambda: pilot.app.screen is screen and not screen.busy(), what="rolled back")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(100, 30), run_before=run_before)
