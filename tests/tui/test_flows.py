"""The app driven by Pilot against the scripted runtime: the flows a person goes through."""

from __future__ import annotations

import pytest

from engine.sessions.home import Home
from seal_tui.screens.confirm_quit import ConfirmQuitScreen
from seal_tui.screens.edit_candidate import EditCandidateScreen
from seal_tui.screens.help import HelpScreen
from seal_tui.screens.history import HistoryScreen
from seal_tui.screens.session import SessionScreen
from seal_tui.screens.sessions import DEMO, SessionsScreen
from seal_tui.widgets.candidate_card import CandidateCard
from seal_tui.widgets.heatmap import Heatmap
from seal_tui.widgets.update_progress import UpdateProgress
from tools.pilot import make_app, open_session, until
from tools.scripted_runtime import FakeRuntime

pytestmark = pytest.mark.asyncio


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


def cards(screen) -> list[CandidateCard]:
    return screen.query_one("#cards").cards


async def test_create_a_session_with_the_form_and_add_a_paper(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        assert isinstance(app.screen, SessionsScreen)
        assert app.screen.query_one("#welcome").display  # first run: the demo is offered
        await pilot.press("n")
        form = app.screen
        form.query_one("#name").value = "mine"
        form.query_one("#candidates").value = "3"
        form.query_one("#adapters").value = "per-paper"
        await pilot.click("#create")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen), what="session screen")
        screen = app.screen
        assert screen.session.config.generation.candidates == 3
        assert screen.session.config.adapters == "per-paper"
        train = screen.session.config.train  # the epochs field left empty: the recipe's
        assert (train.lr, train.epochs, train.anchor, train.drift_guard, train.grounding) == (3e-4, 2, 3.0, 0.3, 0.6)
        assert (train.rank, train.passage_repeats, len(train.target_modules)) == (16, 16, 7)
        await pilot.press("p")
        await pilot.pause()
        app.screen.query_one("#path").value = str(sample)
        await pilot.press("enter")
        await until(pilot, lambda: len(screen.query_one("#passages").passages) == 3, what="passages listed")
        assert all(p.probes for p in screen.session.passages())


async def test_form_recipe_seal_gives_seals_inner_loop():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        app.screen.query_one("#name").value = "paper"
        app.screen.query_one("#preset").value = "seal"
        await pilot.click("#create")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen), what="session screen")
        train = app.screen.session.config.train
        assert (train.lr, train.epochs, train.anchor, train.drift_guard, train.grounding) == (1e-3, 10, 0.0, 0.0, 0.0)
        assert (train.rank, train.passage_repeats, train.target_modules) == (32, 1, ("q_proj", "v_proj"))


async def test_form_refuses_a_bad_setting():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        app.screen.query_one("#name").value = "x"
        app.screen.query_one("#candidates").value = "99"
        await pilot.click("#create")
        await pilot.pause()
        assert "candidates must be 0..64" in str(app.screen.query_one("#form-error").render())
        assert not Home().exists("x")


async def test_form_checks_the_edits_file_and_keeps_its_full_path(tmp_path):
    bad = tmp_path / "edits.json"
    bad.write_text('[{"context": "x", "completions": []}]')
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        form = app.screen
        form.query_one("#name").value = "x"
        form.query_one("#edits-from").value = str(bad)
        await pilot.click("#create")
        await pilot.pause()
        assert "no entry has any completions" in str(form.query_one("#form-error").render())
        assert not Home().exists("x")
        bad.write_text('[{"context": "x", "completions": ["y"]}]')
        await pilot.press("ctrl+s")  # the button ignores a click while it still shows the last one
        await until(pilot, lambda: isinstance(app.screen, SessionScreen), what="session screen")
        assert app.screen.session.config.generation.edits_from == str(bad.resolve())


async def test_pasted_text_becomes_a_passage():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot)
        await pilot.press("p")
        await pilot.pause()
        app.screen.query_one(
            "#pasted"
        ).text = "The Glass Library of Orrin holds nine thousand scrolls. It was built in 1402."
        app.screen.query_one("#title").value = "Orrin"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.session.passages() and not screen.busy())
        assert screen.session.passages()[0].title == "Orrin"


async def test_candidates_stream_into_cards_with_the_gate_verdict(sample):
    app = make_app(FakeRuntime(token_delay=0.01))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        # the action `s` runs (pilot.press would wait for the busy stream to settle)
        await screen.run_action("generate")
        await until(pilot, lambda: cards(screen) and cards(screen)[0].text, what="first tokens")
        first = cards(screen)[0]
        assert first.status == "streaming" and first.edit_id is None
        await until(pilot, lambda: not screen.busy(), what="generation done")
        await pilot.pause()
        shown = cards(screen)
        assert len(shown) == 2
        assert all(c.edit_id and c.status == "pending" and c.verdict for c in shown)
        assert "Brass Eye" in shown[0].text


async def test_accept_reject_and_edit_from_the_keyboard(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await pilot.press("s")
        await until(pilot, lambda: not screen.busy() and len(cards(screen)) == 2)
        await pilot.pause()
        first, second = cards(screen)
        first.focus()
        await pilot.pause()
        await pilot.press("a")
        second.focus()
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        edits = screen.session.self_edits(screen.passage_id)
        assert [(e.status, e.decided_by) for e in edits] == [("accepted", "person"), ("rejected", "person")]
        assert cards(screen)[0].status == "accepted"
        cards(screen)[1].focus()
        await pilot.pause()
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EditCandidateScreen))
        app.screen.query_one("#edit-text").text = "Quenby winters have nineteen-hour nights."
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert screen.session.self_edits(screen.passage_id)[1].text == "Quenby winters have nineteen-hour nights."
        assert "nineteen-hour" in cards(screen)[1].text
        await pilot.press("A")
        await pilot.pause()
        assert {e.status for e in screen.session.self_edits(screen.passage_id)} == {"accepted"}


async def test_update_shows_progress_and_the_heatmap_gains_a_row(sample):
    runtime = FakeRuntime(step_delay=0.1)
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        progress = screen.query_one(UpdateProgress)
        await screen.run_action("update")  # u on a passage without candidates writes them and stops for review
        await until(pilot, lambda: not screen.busy(), what="candidates written")
        await screen.run_action("update")
        await until(pilot, lambda: "step" in str(progress.query_one("#update-loss").render()), what="train steps")
        assert progress.has_class("-busy")
        runtime.step_delay = 0.0  # the rest of the update need not take time
        await until(pilot, lambda: not screen.busy(), what="update done")
        await pilot.pause()
        heatmap = screen.query_one(Heatmap)
        assert heatmap.matrix.rows == [0, 1]
        first = screen.session.passages()[0]
        assert heatmap.matrix.cell(1, first.id) < heatmap.matrix.cell(0, first.id)
        assert screen.session.current_version == 1
        assert any("v1 trained" in m for m in messages(app))
        assert len(progress.query_one("#update-sparkline").data) > 1


async def test_escape_cancels_the_update_and_keeps_the_version(sample):
    app = make_app(FakeRuntime(step_delay=0.2))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        progress = screen.query_one(UpdateProgress)
        await screen.run_action("update")  # u on a passage without candidates writes them and stops for review
        await until(pilot, lambda: not screen.busy(), what="candidates written")
        await screen.run_action("update")
        await until(pilot, lambda: "step" in str(progress.query_one("#update-loss").render()), what="train steps")
        await pilot.press("escape")
        await until(pilot, lambda: not screen.busy(), what="cancel")
        await pilot.pause()
        assert screen.session.current_version == 0
        assert screen.session.updates() == []
        assert screen.session.passages()[0].status != "learned"
        assert any("cancelled" in m for m in messages(app))
        assert screen.query_one(Heatmap).matrix.rows == [0]


async def test_a_bad_path_is_a_notification_not_a_crash():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot)
        await pilot.press("p")
        await pilot.pause()
        dialog = app.screen
        app.screen.query_one("#path").value = "/no/such/paper.md"
        await pilot.press("enter")
        await until(pilot, lambda: any("/no/such/paper.md" in m for m in messages(app)), what="error note")
        assert app.screen is dialog  # the dialog stays, with what was typed and why it cannot be added
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, what="dialog closed")
        assert screen.session.passages() == []


async def test_a_generation_crash_is_a_notification(sample):
    runtime = FakeRuntime()
    runtime.fail_generation = RuntimeError("backend crashed")
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await pilot.press("s")
        await until(pilot, lambda: any("backend crashed" in m for m in messages(app)), what="error note")
        assert not screen.busy() and screen.session.self_edits(screen.passage_id) == []
        runtime.fail_generation = None
        await pilot.press("s")  # the app goes on: the next try works
        await until(pilot, lambda: len(screen.session.self_edits(screen.passage_id)) == 2)


async def test_a_model_that_fails_to_load_is_reported(sample):
    def broken(_config):
        raise OSError("no GGUF file found")

    app = make_app()
    app.runtime_factory = broken
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_session("x", Home().config_for("x"))
        await until(pilot, lambda: getattr(app.screen, "model_state", "") == "failed", what="failure")
        assert "no GGUF file found" in " ".join(messages(app))
        assert "failed" in app.screen.sub_title
        await pilot.press("s")  # refused politely
        await pilot.pause()
        assert isinstance(app.screen, SessionScreen)


async def test_quitting_during_an_update_asks_first(sample):
    app = make_app(FakeRuntime(step_delay=0.2))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await screen.run_action("update")  # u on a passage without candidates writes them and stops for review
        await until(pilot, lambda: not screen.busy(), what="candidates written")
        await screen.run_action("update")
        await until(pilot, app.training, what="training")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmQuitScreen))
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and app.is_running
        await pilot.press("escape")
        await until(pilot, lambda: not screen.busy())


async def test_reopening_finds_the_session_as_it_was(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, "kept", paper=sample)
        await pilot.press("s")
        await until(pilot, lambda: not screen.busy() and len(cards(screen)) == 2)
        await pilot.pause()
        cards(screen)[1].focus()
        await pilot.pause()
        await pilot.press("r")
        await pilot.press("u")
        await until(pilot, lambda: not screen.busy() and screen.session.current_version == 1)
    again = make_app()
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(again.screen, SessionsScreen)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(again.screen, SessionScreen))
        screen = again.screen
        await pilot.pause()
        assert screen.session.current_version == 1
        assert screen.query_one(Heatmap).matrix.rows == [0, 1]
        assert [c.status for c in cards(screen)] == ["accepted", "rejected"]
        assert cards(screen)[1].decided_by == "person"


async def test_first_run_demo_opens_on_the_sample_paper():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        screen = app.screen
        await until(pilot, lambda: len(screen.session.passages()) == 3 and not screen.busy(), what="demo paper")
        assert screen.session_name == DEMO
        assert "Velmora" in screen.session.passages()[0].title


async def test_help_history_metric_and_palette(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await pilot.press("u")  # u on a passage without candidates writes them and stops for review
        await until(pilot, lambda: not screen.busy(), what="candidates written")
        await pilot.press("u")
        await until(pilot, lambda: not screen.busy() and screen.session.current_version == 1)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        assert len(app.screen.query(".update-entry")) == 1
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        assert screen.query_one(Heatmap).matrix.metric == "f1"
        titles = [c.title for c in app.get_system_commands(screen)]
        assert {
            "Add paper",
            "Generate candidates",
            "Accept all",
            "Run the update",
            "Switch metric",
            "Update history",
            "Help",
        } <= set(titles)


async def test_a_heatmap_cell_shows_its_probes_and_scores(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await screen.run_action("update")  # u on a passage without candidates writes them and stops for review
        await until(pilot, lambda: not screen.busy(), what="candidates written")
        await screen.run_action("update")
        await until(pilot, lambda: not screen.busy() and screen.session.current_version == 1)
        await pilot.pause()
        heatmap = screen.query_one(Heatmap)
        heatmap.focus()
        await pilot.pause()
        await pilot.press("up")  # from v1 to base
        detail = screen.query_one("#detail").text
        assert "base" in detail and "NLL base 6.00" in detail
        await pilot.press("down")
        assert "v1" in screen.query_one("#detail").text
        await pilot.press("right")  # the next passage's cell: its probes, the selection stays
        await pilot.pause()
        assert screen.passage_id == screen.session.passages()[0].id
        assert screen.query_one("#detail").text.startswith("P2 ")


async def test_file_picker_and_screenshot(sample, tmp_path):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot)
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("ctrl+o")
        await pilot.pause()
        from seal_tui.screens.file_picker import FilePickerScreen

        assert isinstance(app.screen, FilePickerScreen)
        app.screen.dismiss(str(sample))
        await pilot.pause()
        assert app.screen.query_one("#path").value == str(sample)
        await pilot.press("escape")
        await pilot.pause()
        path = app.action_screenshot("shot.svg")
        assert path.endswith("shot.svg") and "<svg" in open(path).read()
        assert app.screen is screen


async def test_a_wide_heatmap_shows_a_window_of_passages_that_follows_the_cursor(tmp_path):
    from engine.config import SessionConfig
    from engine.domain import PaperDraft, PassageDraft
    from engine.sessions.home import Home
    from seal_tui.widgets.heatmap import Heatmap

    passages = tuple(
        PassageDraft(f"Topic {i}", f"Fact number {i} is {i * 7}.", ((f"What is fact {i}?", str(i * 7)),))
        for i in range(12)
    )
    home = Home()
    session = home.open("wide", SessionConfig(accept="all"), FakeRuntime())
    session.add_paper(PaperDraft("Many facts", "test", "wide-12", passages))
    session.score(0, session.passages())
    home.close()
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_session("wide", None)
        await until(pilot, lambda: getattr(app.screen, "model_state", "") == "ready", what="model ready")
        heatmap = app.screen.query_one(Heatmap)
        await pilot.pause()
        assert heatmap.border_subtitle.startswith("1–") and "of 12 passages" in heatmap.border_subtitle
        lines = str(heatmap.render()).splitlines()
        assert len(lines) == len(heatmap.matrix.rows) + 8  # nothing wraps (the last line explains drift)
        heatmap.focus()
        for _ in range(11):
            await pilot.press("right")
        await pilot.pause()
        assert heatmap.border_subtitle.endswith("12 of 12 passages · ←/→")
        assert "P12" in str(heatmap.render()).splitlines()[0]
