"""What a newcomer trips over while deciding (issue 20), each driven as a person meets it
(Pilot against the scripted runtime): an update that trains only the passage, a decision
changed on a passage already learned, focus that is hard to follow, a heatmap cursor that
changed the passage being decided, and the add-paper dialog."""

from __future__ import annotations

import pytest
from rich.console import Group
from textual import events
from textual.widgets._footer import FooterKey

from seal_tui.screens.add_paper import AddPaperScreen
from seal_tui.screens.confirm import ConfirmScreen
from seal_tui.screens.edit_candidate import EditCandidateScreen
from seal_tui.screens.history import HistoryScreen
from seal_tui.screens.reject_reason import RejectReasonScreen
from seal_tui.widgets.candidate_card import CandidateCard
from seal_tui.widgets.heatmap import Heatmap
from tools.pilot import make_app, open_session, until
from tools.scripted_runtime import FakeRuntime

pytestmark = pytest.mark.asyncio

UNGROUNDED = "Zebras migrate to Mars in 2999.\nPenguins paint murals on Venus."
"""A self-edit none of whose lines grounding keeps: the passage says none of it."""


def cards(screen) -> list[CandidateCard]:
    return screen.query_one("#cards").cards


def shown(widget) -> str:
    drawn = widget.render()
    return "\n".join(map(str, drawn.renderables)) if isinstance(drawn, Group) else str(drawn)


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


async def with_candidates(pilot, sample, runtime=None):
    screen = await open_session(pilot, paper=sample)
    await screen.run_action("generate")
    await until(pilot, lambda: not screen.busy() and len(cards(screen)) == 2, what="candidates")
    cards(screen)[0].focus()
    await pilot.pause()
    return screen


async def learn(pilot, screen, version: int) -> None:
    await screen.run_action("update")
    await until(pilot, lambda: not screen.busy() and screen.session.current_version == version, what=f"v{version}")
    await pilot.pause()


async def history_text(pilot, app) -> list[str]:
    await pilot.press("h")
    await until(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
    await pilot.pause()
    entries = [" ".join(shown(s) for s in e.query("Static")) for e in app.screen.query(".update-entry")]
    await pilot.press("escape")
    await pilot.pause()
    return entries


# 1 -- an update that trains only the passage says so -------------------------------------
async def test_an_update_whose_accepted_cards_train_nothing_says_only_the_passage_trains(sample):
    app = make_app(FakeRuntime(text=UNGROUNDED))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await with_candidates(pilot, sample)
        await pilot.press("A")  # accept all: both cards, none of whose lines will train
        assert {e.status for e in screen.session.self_edits(screen.passage_id)} == {"accepted"}
        await learn(pilot, screen, 1)
        told = [m for m in messages(app) if "only the passage" in m]
        assert told and "#1" in told[0] and "#2" in told[0] and "train none of their lines" in told[0]
        (entry,) = await history_text(pilot, app)
        assert entry.count("trained none of its 2 lines") == 2
        assert "only the passage itself trained" in entry


# 2 -- a learned passage's decisions stay what the update trained ---------------------------
async def test_a_decision_on_a_learned_passage_is_refused_with_a_way_out(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await with_candidates(pilot, sample)
        await pilot.press("a")
        first = screen.session.self_edits(screen.passage_id)[0]
        await learn(pilot, screen, 1)
        cards(screen)[0].focus()
        await pilot.pause()
        for key in ("r", "x", "e", "R", "A"):
            app.clear_notifications()
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen, key  # no reason or edit dialog opens
            assert any("P1 is learned (v1 trained on these decisions)" in m and "z" in m for m in messages(app)), key
        after = screen.session.self_edits(screen.passage_id)[0]
        assert (after.status, after.decided_by, after.text) == ("accepted", "person", first.text)
        (entry,) = await history_text(pilot, app)
        assert "✓ [person]" in entry


async def test_history_keeps_who_accepted_what_an_update_trained_after_a_rollback(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await with_candidates(pilot, sample)
        await learn(pilot, screen, 1)  # the heuristic gate decides both cards
        kept = [e for e in screen.session.self_edits(screen.passage_id) if e.status == "accepted"]
        assert kept and all(e.decided_by == "heuristic" for e in kept)
        heatmap = screen.query_one(Heatmap)
        heatmap.focus()
        await pilot.press("up", "z")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await until(pilot, lambda: app.screen is screen and screen.session.current_version == 0, what="rolled back")
        await until(pilot, lambda: not screen.busy(), what="switched")
        index = [e.id for e in screen.session.self_edits(screen.passage_id)].index(kept[0].id)
        cards(screen)[index].focus()
        await pilot.press("r")  # the passage is not learned any more: decisions are free again
        await pilot.pause()
        assert screen.session.self_edits(screen.passage_id)[index].decided_by == "person"
        (entry,) = await history_text(pilot, app)
        assert "✓ [heuristic]" in entry and "✓ [person]" not in entry  # v1 trained the gate's acceptance


# 5 -- focus a person can follow ------------------------------------------------------------
async def test_tab_goes_from_the_passages_straight_to_the_cards_and_on(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await with_candidates(pilot, sample)
        screen.query_one("#passages").focus()
        await pilot.press("tab")
        assert isinstance(screen.focused, CandidateCard)
        await pilot.press("tab")
        assert screen.focused is screen.query_one("#heatmap")
        await pilot.press("shift+tab")
        assert isinstance(screen.focused, CandidateCard)
        await pilot.press("shift+tab")
        assert screen.focused is screen.query_one("#passages")


async def test_the_focused_card_is_marked_and_a_decision_moves_on_to_the_next_undecided(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await with_candidates(pilot, sample)
        first, second = cards(screen)
        assert shown(first).startswith("▶") and not shown(second).startswith("▶")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, RejectReasonScreen), what="reason")
        await pilot.press(*"vague", "enter")
        await until(pilot, lambda: first.status == "rejected", what="rejected")
        await pilot.pause()
        assert screen.focused is cards(screen)[1]  # e now edits the card still to decide
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EditCandidateScreen), what="edit")
        await pilot.press("escape")
        await pilot.pause()
        assert screen.session.self_edits(screen.passage_id)[0].reason == "vague"


async def test_the_footer_of_a_focused_card_lists_every_card_key(sample):
    app = make_app()
    async with app.run_test(size=(140, 30)) as pilot:
        screen = await with_candidates(pilot, sample)
        await pilot.pause()
        keys = {k.key_display for k in screen.query(FooterKey)}
        assert {"a", "r", "x", "e", "o", "A", "R"} <= keys, keys


# 6 -- the heatmap cursor does not change the passage being decided --------------------------
async def test_moving_on_the_heatmap_leaves_s_and_u_on_the_selected_passage(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await with_candidates(pilot, sample)
        await learn(pilot, screen, 1)
        p1, p2, _ = screen.session.passages()
        screen.query_one("#passages").focus()
        await pilot.press("down")
        await until(pilot, lambda: screen.passage_id == p2.id, what="P2 selected")
        screen.query_one(Heatmap).focus()
        await pilot.press("left")
        await pilot.pause()
        assert screen.passage_id == p2.id
        assert screen.query_one("#detail").text.startswith("P1 ")  # the cell's probes
        assert "P2" in str(screen.query_one("#cards").border_title)
        await pilot.press("s")
        await until(pilot, lambda: not screen.busy() and screen.session.self_edits(p2.id), what="P2's candidates")
        assert len(screen.session.self_edits(p1.id)) == 2


# 7 -- the add-paper dialog keeps what was typed ---------------------------------------------
async def test_a_wrong_path_keeps_the_dialog_open_with_what_was_typed(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, AddPaperScreen), what="dialog")
        dialog = app.screen
        await pilot.press(*"/no/such/paper.md", "enter")
        await until(pilot, lambda: "no such file" in shown(dialog.query_one("#preview")).lower(), what="error")
        await pilot.pause()
        assert app.screen is dialog and dialog.query_one("#path").value == "/no/such/paper.md"
        assert screen.session.passages() == []


async def test_a_paste_keeps_the_whole_text_in_a_box_that_keeps_its_size(sample):
    text = "\n".join(f"Line {i}: the Glass Library of Orrin holds nine thousand scrolls." for i in range(12))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_session(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, AddPaperScreen), what="dialog")
        dialog = app.screen
        box = dialog.query_one("#pasted")
        height = box.content_region.height
        dialog.focused.post_message(events.Paste(text))  # the path field has focus when it opens
        await until(pilot, lambda: "becomes 1 passage" in shown(dialog.query_one("#preview")), what="preview")
        await pilot.pause()
        assert dialog.query_one("#path").value == "" and box.text == text
        assert box.content_region.height == height >= 6


async def test_p_during_an_update_is_refused_so_later_keys_do_not_land_in_a_field(sample):
    app = make_app(FakeRuntime(step_delay=0.1))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await with_candidates(pilot, sample)
        await screen.run_action("update")
        await until(pilot, app.training, what="training")
        await pilot.press("p")
        await pilot.pause()
        assert app.screen is screen
        assert any("Busy running the update" in m for m in messages(app))
        await pilot.press("escape")
        await until(pilot, lambda: not screen.busy(), what="cancelled")
