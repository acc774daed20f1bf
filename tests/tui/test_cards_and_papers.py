"""Cards a person edited or rejected with a reason, and the preview of a paper before it is
added: the app driven by Pilot against the scripted runtime."""

from __future__ import annotations

import pytest
from rich.console import Group

from seal_tui.screens.add_paper import AddPaperScreen
from seal_tui.screens.edit_candidate import EditCandidateScreen, EditText
from seal_tui.screens.reject_reason import RejectReasonScreen
from seal_tui.screens.session import SessionScreen
from seal_tui.widgets.candidate_card import CandidateCard
from tools.pilot import make_app, open_session, until

pytestmark = pytest.mark.asyncio


def cards(screen) -> list[CandidateCard]:
    return screen.query_one("#cards").cards


def shown(widget) -> str:
    """A widget's text as plain words (a card renders a Group of lines)."""
    drawn = widget.render()
    return "\n".join(map(str, drawn.renderables)) if isinstance(drawn, Group) else str(drawn)


async def with_candidates(pilot, sample) -> SessionScreen:
    screen = await open_session(pilot, paper=sample)
    await screen.run_action("generate")
    await until(pilot, lambda: not screen.busy() and len(cards(screen)) == 2, what="candidates")
    cards(screen)[0].focus()
    await pilot.pause()
    return screen


async def test_an_edited_card_says_so_and_shows_the_models_text_on_o(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await with_candidates(pilot, sample)
        card = cards(screen)[0]
        model_text = card.text
        assert "edited" not in shown(card)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EditCandidateScreen), what="edit dialog")
        await pilot.press("ctrl+a")  # select all, so typing replaces the whole text
        assert app.screen.query_one(EditText).selected_text == model_text.strip()
        await pilot.press(*"Quenby is cold.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen, what="dialog closed")
        card = cards(screen)[0]
        stored = screen.session.self_edits(screen.passage_id)[0]
        assert (stored.text, stored.original_text) == ("Quenby is cold.", model_text.strip())
        assert card.text == "Quenby is cold." and "✎ edited" in shown(card)
        assert "model's text:" not in shown(card)
        card.focus()
        await pilot.press("o")
        assert f"model's text: {model_text.strip()[:30]}" in shown(card)
        await pilot.press("o")
        assert "model's text:" not in shown(card)
        assert "edited" not in shown(cards(screen)[1])


async def test_x_rejects_with_a_reason_esc_decides_nothing_and_r_stays_instant(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await with_candidates(pilot, sample)
        first, second = (e.id for e in screen.session.self_edits(screen.passage_id))
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, RejectReasonScreen), what="reason prompt")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, what="prompt closed")
        assert screen.session.self_edits(screen.passage_id)[0].decided_by != "person"
        cards(screen)[0].focus()
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, RejectReasonScreen), what="reason prompt")
        await pilot.press(*"invents a date", "enter")
        await until(pilot, lambda: app.screen is screen, what="prompt closed")
        await until(pilot, lambda: cards(screen)[0].status == "rejected", what="rejected")
        edit = screen.session.self_edits(screen.passage_id)[0]
        assert (edit.id, edit.status, edit.decided_by, edit.reason) == (first, "rejected", "person", "invents a date")
        assert "note: invents a date" in shown(cards(screen)[0])
        cards(screen)[1].focus()
        await pilot.press("r")  # no question asked
        await pilot.pause()
        assert app.screen is screen
        edit = screen.session.self_edits(screen.passage_id)[1]
        assert (edit.id, edit.status, edit.decided_by, edit.reason) == (second, "rejected", "person", "")


async def test_the_add_paper_dialog_previews_the_passages_then_adds_on_confirm(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, AddPaperScreen), what="dialog")
        dialog = app.screen
        dialog.query_one("#path").value = str(sample)
        await until(pilot, lambda: "becomes 3 passages" in shown(dialog.query_one("#preview")), what="preview")
        preview = shown(dialog.query_one("#preview"))
        assert "The Velmora Observatory" in preview and "The Velmora Observatory · 2/3" in preview
        assert "The observatory's main telescope" in preview  # each passage's first words
        assert str(dialog.query_one("#add").label) == "Add 3 passages"
        assert screen.session.passages() == []  # nothing added before the person confirms
        await pilot.press("escape")  # cancel
        await until(pilot, lambda: app.screen is screen, what="dialog closed")
        assert screen.session.passages() == []

        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, AddPaperScreen), what="dialog")
        dialog = app.screen
        dialog.query_one("#path").value = str(sample)
        await until(pilot, lambda: dialog.previewed is not None, what="preview")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(screen.session.passages()) == 3 and not screen.busy(), what="added")
        assert [p.title for p in screen.session.passages()] == [f"The Velmora Observatory · {n}/3" for n in (1, 2, 3)]
        assert "probes cloze (no given questions)" in screen.sub_title  # kind 'given', no questions


async def test_the_preview_of_pasted_text_and_of_an_unreadable_file(tmp_path):
    bad = tmp_path / "paper.md"
    bad.write_bytes(b"\xff\xfe\x00binary")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_session(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, AddPaperScreen), what="dialog")
        dialog = app.screen
        assert not dialog.query_one("#preview").display  # nothing to show yet
        dialog.query_one("#pasted").text = "The Glass Library of Orrin holds nine thousand scrolls."
        dialog.query_one("#title").value = "Orrin"
        await until(pilot, lambda: "“Orrin” becomes 1 passage" in shown(dialog.query_one("#preview")), what="preview")
        assert str(dialog.query_one("#add").label) == "Add 1 passage"
        dialog.query_one("#path").value = str(bad)  # a path wins over pasted text
        await until(pilot, lambda: "not text" in shown(dialog.query_one("#preview")), what="error shown")
        assert str(dialog.query_one("#add").label) == "Add"


async def test_a_card_says_how_many_of_its_lines_will_train_and_warns_when_none_will(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await with_candidates(pilot, sample)
        card = cards(screen)[0]
        assert "trains " in shown(card) and " of " in shown(card)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EditCandidateScreen), what="edit dialog")
        await pilot.press("ctrl+a")
        await pilot.press(*"Zebras migrate to Mars in 2999.", "enter", *"Penguins paint murals on Venus.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen, what="dialog closed")
        assert "trains none of its 2 lines" in shown(cards(screen)[0])
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EditCandidateScreen), what="edit dialog")
        await pilot.press("ctrl+a")
        await pilot.press(*"The Velmora Observatory was founded in 1873 by Ilse Narrowgate.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen, what="dialog closed")
        assert "trains 1 of 1 line" in shown(cards(screen)[0])
