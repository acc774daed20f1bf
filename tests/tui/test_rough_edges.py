"""The app's rough edges, each driven as a person meets it (Pilot against the scripted
runtime): scores hidden from base, answers not shown, waits without feedback, an update
that trained without a look, a blank terminal under a redirect, and a history without the
rejected edits."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace

import pytest

from engine.config import GenerationConfig
from seal_tui import launch
from seal_tui.screens.confirm_quit import ConfirmQuitScreen
from seal_tui.screens.help import HELP
from seal_tui.screens.history import HistoryScreen
from seal_tui.widgets.heatmap import Heatmap
from seal_tui.widgets.update_progress import Eta, UpdateProgress
from tools.pilot import (
    SAMPLE_CONFIG,
    WorseThanBase,
    learn_two_passages,
    make_app,
    open_session,
    until,
    write_then_learn,
)
from tools.scripted_runtime import FakeRuntime


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


def shown(widget) -> str:
    return str(widget.render())


# 1 -- every number against base too --------------------------------------------------
@pytest.mark.asyncio
async def test_an_update_that_leaves_its_passage_worse_than_base_says_so(sample):
    app = make_app(WorseThanBase())
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await write_then_learn(pilot, screen)
        status = shown(screen.query_one(UpdateProgress).query_one("#update-status"))
        assert "v1 learned P1: 2.24 → 7.19 vs base (+4.95, worse)" in status
        warnings = [
            n for n in app._notifications if n.severity == "warning" and "worse than the base model" in n.message
        ]
        assert warnings and "P1 2.24 → 7.19" in warnings[0].message
        stats = shown(screen.query_one("#stats"))
        assert "vs base +4.95" in stats and "worse than base now: P1 2.24 → 7.19" in stats
        heatmap = screen.query_one(Heatmap).render().plain
        assert "7.19!" in heatmap  # the cell worse than base is marked
        assert "vs base  +4.95" in heatmap
        assert "colour: 2.24 (low NLL, good)" in heatmap and "7.19 (high)" in heatmap
        assert "2.24 → 7.19" not in heatmap  # the colour scale no longer reads as before → after
        assert "! = worse" in heatmap


@pytest.mark.asyncio
async def test_a_good_update_reads_against_base_too(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await write_then_learn(pilot, screen)
        status = shown(screen.query_one(UpdateProgress).query_one("#update-status"))
        assert "v1 learned P1: 6.00 → 2.00 vs base (-4.00, better)" in status and "worse" not in status
        assert not any("worse than the base model" in m for m in messages(app))
        assert "vs base -4.00" in shown(screen.query_one("#stats"))


class QuestionsWorse(FakeRuntime):
    """Learning helps the recall probes (the family a paper without questions opens on) and
    makes its fill-in-the-blank questions worse."""

    def answer_nll(self, adapter, base, items):
        scored = super().answer_nll(adapter, base, items)
        return [(2.24 if base else 7.19) if "\nQuestion:" in prompt else v for (prompt, _), v in zip(items, scored)]


@pytest.mark.asyncio
async def test_an_update_worse_on_the_family_not_shown_still_warns(sample):
    app = make_app(QuestionsWorse())
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await write_then_learn(pilot, screen)
        status = shown(screen.query_one(UpdateProgress).query_one("#update-status"))
        assert "better" in status  # the recall probes the heatmap opens on improved
        warnings = [n.message for n in app._notifications if n.severity == "warning"]
        assert any("worse than the base model" in m and "held-out questions" in m for m in warnings), warnings


def test_help_explains_the_numbers():
    numbers = HELP[HELP.index("## What the numbers mean") :]
    for term in ("**NLL**", "**gain**", "**forget**", "**BWT**", "**drift**", "**vs base**", "held-out", "reward"):
        assert term in numbers


# 2 -- what the model answers, for every probe ----------------------------------------
@pytest.mark.asyncio
async def test_cell_details_show_every_probe_under_base_and_the_version(sample):
    config = replace(SAMPLE_CONFIG, greedy_answers=True)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, config=config, paper=sample)
        await write_then_learn(pilot, screen)
        passage = screen.session.passages()[0]
        roles = {q.role for q in passage.probes}
        assert roles == {"heldout", "reward"}
        detail = screen.query_one("#detail")
        text = detail.text
        assert text.count("\n  gold ") == len(passage.probes)  # every probe, not half of them
        questions = [q for q in passage.probes if q.kind != "recall"]
        assert text.count("held-out ? ") + text.count("reward ? ") == len(questions)
        assert text.count("held-out … ") + text.count("reward … ") == len(passage.probes) - len(questions) > 0
        for probe in passage.probes:
            assert probe.question in text.replace("\n", " ") or probe.question[:30] in text
        assert "NLL base 6.00 → v1 2.00 (-4.00, better)" in text
        assert "says base 'I do not know' → v1 '1873'" in text
        # it scrolls: more than fits, and focus + keys reach the end
        assert detail.virtual_size.height > detail.size.height
        detail.focus()
        await pilot.press("end")
        await pilot.pause()
        assert detail.scroll_y > 0


@pytest.mark.asyncio
async def test_cell_details_say_how_to_see_answers_when_greedy_is_off(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        text = screen.query_one("#detail").text
        assert "does not score its answers" in text and "w scores them" in text
        assert "NLL base ·" in text  # nothing scored before the first update


# 3 -- waits with feedback ------------------------------------------------------------
@pytest.mark.asyncio
async def test_writing_candidates_counts_them_with_a_bar_and_an_eta(sample):
    config = replace(SAMPLE_CONFIG, generation=GenerationConfig(candidates=3))
    app = make_app(FakeRuntime(token_delay=0.03))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, config=config, paper=sample)
        progress = screen.query_one(UpdateProgress)
        line = progress.query_one("#update-loss")
        await pilot.press("s")
        await until(pilot, lambda: "candidate 1 of 3" in shown(line), what="the first of three")
        assert "ETA after the first" in shown(line)
        assert progress.query_one("#update-steps").total == 3
        await until(
            pilot,
            lambda: "candidate 2 of 3 · ETA" in shown(line) and "first" not in shown(line),
            what="an ETA from the first",
        )
        assert progress.query_one("#update-steps").progress == 1
        assert "candidate 1 of 3 written" in shown(progress.query_one("#update-status"))
        await until(pilot, lambda: not screen.busy(), what="written")


def test_the_update_eta_does_not_swing():
    """A slow first step (warm-up) and an end-of-epoch check, then steady 2 s steps: the
    estimate shown never jumps by more than a third between two reports."""
    eta, total, clock, shown_before = Eta(), 200, 0.0, None
    assert eta.update(1, total, 45.0) is None  # the first report only starts the clock
    clock = 45.0
    for step in range(2, 120):
        clock += 30.0 if step == 60 else 2.0
        left = eta.update(step, total, clock)
        if shown_before is not None:
            assert abs(left - shown_before) <= shown_before / 3 + 2.0, (step, shown_before, left)
        shown_before = left
    assert abs(shown_before - 2.0 * (total - 119)) < 0.25 * 2.0 * (total - 119)  # and it is right


@pytest.mark.asyncio
async def test_a_cancelled_update_says_the_next_one_starts_over(sample):
    app = make_app(FakeRuntime(step_delay=0.2))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        progress = screen.query_one(UpdateProgress)
        await screen.run_action("update")
        await until(pilot, lambda: not screen.busy(), what="candidates written")
        await screen.run_action("update")
        await until(pilot, lambda: "step" in shown(progress.query_one("#update-loss")), what="train steps")
        await pilot.press("escape")
        await until(pilot, lambda: not screen.busy(), what="cancelled")
        await pilot.pause()
        assert any("starts over from step 1" in m for m in messages(app))
        assert "from step 1" in shown(progress.query_one("#update-status"))


# 4 -- u writes first and stops; the quit dialog names the work -------------------------
@pytest.mark.asyncio
@pytest.mark.parametrize("policy", ["heuristic", "all"])
async def test_u_on_a_passage_without_candidates_writes_them_and_stops(sample, policy):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, config=replace(SAMPLE_CONFIG, accept=policy), paper=sample)
        await pilot.press("u")
        await until(pilot, lambda: not screen.busy(), what="candidates written")
        await pilot.pause()
        edits = screen.session.self_edits(screen.passage_id)
        assert len(edits) == 2 and {e.status for e in edits} == {"pending"}  # nothing decided, nothing trained
        assert screen.session.updates() == [] and screen.session.current_version == 0
        assert any("Candidates written: review them, then u again to learn P1" in m for m in messages(app))
        await pilot.press("u")  # the second u learns, the policy deciding what is undecided
        await until(pilot, lambda: not screen.busy() and screen.session.current_version == 1, what="update")


@pytest.mark.asyncio
async def test_the_quit_dialog_names_the_work_and_wraps(sample):
    app = make_app(FakeRuntime(step_delay=0.2))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await screen.run_action("update")
        await until(pilot, lambda: not screen.busy(), what="candidates written")
        await screen.run_action("update")
        await until(pilot, app.training, what="training")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmQuitScreen))
        await pilot.pause()
        dialog = app.screen
        assert "seal is running the update" in shown(dialog.query_one(".dialog-title"))
        body, box = dialog.query_one("#question"), dialog.query_one("#confirm")
        assert body.region.height >= 2 and body.region.right <= box.region.right  # wrapped, not cut
        assert "every decision and accepted edit is kept" in shown(body)
        await pilot.press("n")
        await pilot.press("escape")
        await until(pilot, lambda: not screen.busy(), what="cancelled")


# 5 -- a redirected stderr gets one line, not a blank terminal --------------------------
def test_a_redirected_stderr_gets_one_line_not_a_blank_screen(monkeypatch, capsys):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert launch.terminal_problem(Tty(), Tty()) == ""
    assert "stderr is not one" in launch.terminal_problem(Tty(), io.StringIO())
    monkeypatch.setattr(sys, "__stdin__", Tty())
    monkeypatch.setattr(sys, "__stderr__", io.StringIO())
    monkeypatch.setattr("seal_tui.app.SealApp.run", lambda self: pytest.fail("the app drew on a redirected stderr"))
    assert launch.launch_app() == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "stderr" in out and "seal run" in out


def test_seal_under_a_redirect_exits_with_the_line(tmp_path):
    log = tmp_path / "err.log"
    with open(log, "w") as err:
        done = subprocess.run(
            [sys.executable, "-c", "import sys; from seal_tui.launch import launch_app; sys.exit(launch_app())"],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert "the app needs a terminal" in done.stdout and "stderr" in done.stdout
    assert log.read_text() == ""  # nothing drawn into the file


# 6 -- the history shows rejected edits and scores against base; a palette of seal's own --
@pytest.mark.asyncio
async def test_history_shows_rejected_edits_and_nll_before_and_after_against_base(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await learn_two_passages(pilot, sample)
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.pause()
        first, second = [
            " ".join(shown(s) for s in entry.query("Static")) for entry in app.screen.query(".update-entry")
        ]
        assert "1 rejected edit(s)" in first and "✗ rejected by person" in first
        assert "P1 held-out NLL: base 6.00 → v1 2.00 (-4.00 vs base)" in first
        assert "✗ rejected by heuristic" in second  # the gate's veto, with its reason
        assert "near-duplicate" in second
        assert "P2 held-out NLL: base 6.00 · v1 6.00 → v2 2.00 (-4.00 vs base)" in second


@pytest.mark.asyncio
async def test_the_palette_lists_seals_actions_without_textuals_generic_ones(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await learn_two_passages(pilot, sample)
        screen = app.screen
        for focused in ("#cards", "#detail", "#heatmap", "#passages"):
            screen.query_one(focused).focus()
            await pilot.pause()
            titles = [c.title for c in app.get_system_commands(screen)]
            assert not [t for t in titles if t.startswith(("Scroll", "Page", "Focus", "Copy"))], (focused, titles)
            assert titles.count("Screenshot") == 1
            assert {"Run the update", "Generate candidates", "Help", "Quit"} <= set(titles)
