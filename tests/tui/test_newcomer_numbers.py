"""What a newcomer cannot read without the help screen (issue 20), driven as a person meets
it (Pilot against the scripted runtime): which sign of each number is good, the model's
answers and the drift column's questions, the first model load, an ETA that leaves out the
scoring after training, and a sessions list that disagrees with the session's header."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from rich.console import Group

from engine.learning.drift import drift_questions
from engine.sessions.home import Home
from seal_tui.screens.new_session import NewSessionScreen
from seal_tui.screens.sessions import SessionsScreen
from seal_tui.widgets.heatmap import Heatmap
from seal_tui.widgets.update_progress import UpdateProgress
from tools.pilot import SAMPLE_CONFIG, WorseThanBase, make_app, open_session, until, write_then_learn
from tools.scripted_runtime import FakeRuntime

pytestmark = pytest.mark.asyncio


def shown(widget) -> str:
    drawn = widget.render()
    return "\n".join(map(str, drawn.renderables)) if isinstance(drawn, Group) else str(drawn)


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


# 3 -- every number says which way is better, where it stands ------------------------------
async def test_the_heatmap_and_the_stats_say_which_sign_is_better(sample):
    app = make_app(WorseThanBase())
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await write_then_learn(pilot, screen)
        legend = screen.query_one(Heatmap).render().plain
        assert "gain: when learned, + better · forget: + worse" in legend
        assert "vs base: − better (lower NLL) · ! = worse" in legend
        assert "drift: unrelated questions vs base, + worse" in legend
        stats = shown(screen.query_one("#stats"))
        assert "gain -4.95 worse" in stats and "vs base +4.95 worse" in stats
        assert "BWT" in stats and "earlier passages since learned" in stats
        status = shown(screen.query_one(UpdateProgress).query_one("#update-status"))
        assert "vs base (+4.95, worse)" in status
        await pilot.press("m")  # the same family under F1, where higher is better
        await pilot.pause()
        assert "vs base: + better (higher F1)" in screen.query_one(Heatmap).render().plain


# 4 -- the model's answers, and the drift column's questions -------------------------------
async def test_answers_are_on_in_a_new_session_and_in_the_demo():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewSessionScreen), what="form")
        assert app.screen.query_one("#answers").value == "on"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SessionsScreen), what="list")
        await pilot.press("d")
        await until(pilot, lambda: getattr(app.screen, "model_state", "") == "ready", what="demo")
        assert app.screen.session.config.greedy_answers
        await until(pilot, lambda: not app.screen.busy(), what="paper added")


async def test_w_turns_answers_on_for_the_session_and_scores_those_it_lacks(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)  # answers off, as older sessions have them
        await write_then_learn(pilot, screen)
        await pilot.press("m")  # questions under F1: no answers yet
        await pilot.pause()
        heatmap = screen.query_one(Heatmap).render().plain
        assert "w scores the model's answers" in heatmap and "greedy_answers" not in heatmap
        assert not any("greedy_answers" in m for m in messages(app))
        await pilot.press("w")
        await until(pilot, lambda: not screen.busy(), what="answers scored")
        await pilot.pause()
        assert Home().config_for("demo").greedy_answers  # stored with the session
        assert "no scores" not in screen.query_one(Heatmap).render().plain
        assert "says base 'I do not know' → v1 '1873'" in screen.query_one("#detail").text
        await pilot.press("w")  # and off again, for the updates to come
        await pilot.pause()
        assert not Home().config_for("demo").greedy_answers


async def test_the_drift_column_opens_its_questions(sample):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)
        await write_then_learn(pilot, screen)
        screen.query_one(Heatmap).focus()
        await pilot.press("right", "right", "right", "right")  # past the last passage
        await until(pilot, lambda: "drift set" in screen.query_one("#detail").text, what="drift details")
        await until(pilot, lambda: not screen.busy(), what="drift scored")
        await pilot.pause()
        text = screen.query_one("#detail").text
        topic, question, answer = drift_questions("report")[0]
        assert question in text and answer in text
        assert "NLL base 6.00 → v1 6.00" in text  # each question under base and the cell's version


# 9 -- waits that say how long, and a list that agrees with the session ---------------------
class SlowFirstLoad(FakeRuntime):
    """Loads in named steps, each waiting until the test lets it go on."""

    def __init__(self):
        super().__init__()
        self.go = threading.Event()

    def load_steps(self):
        return [("reading the weights for training", self.go.wait), ("starting llama.cpp", lambda: None)]

    def load(self):
        for _, step in self.load_steps():
            step()


async def test_the_first_model_load_shows_its_step_and_the_time_so_far(sample):
    runtime = SlowFirstLoad()
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_session("demo", SAMPLE_CONFIG)
        await until(pilot, lambda: bool(app.screen.query("#update-status")), what="session screen")
        screen = app.screen
        status = screen.query_one(UpdateProgress).query_one("#update-status")
        await until(pilot, lambda: "reading the weights for training (1 of 2)" in shown(status), what="step")
        await pilot.pause(1.2)
        assert "1s" in shown(status) or "2s" in shown(status)  # the time so far, counting
        assert "loading the model" in screen.sub_title
        runtime.go.set()
        await until(pilot, lambda: screen.model_state == "ready", what="ready")


class SlowScoring(FakeRuntime):
    def answer_nll(self, adapter, base, items):
        time.sleep(0.02 * len(items))
        return super().answer_nll(adapter, base, items)


async def test_the_update_eta_counts_the_scoring_after_training(sample):
    app = make_app(SlowScoring(step_delay=0.05))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_session(
            pilot,
            config=replace(SAMPLE_CONFIG, generation=replace(SAMPLE_CONFIG.generation, candidates=1)),
            paper=sample,
        )
        await screen.run_action("update")
        await until(pilot, lambda: not screen.busy(), what="candidates written")
        line = screen.query_one(UpdateProgress).query_one("#update-loss")
        status = screen.query_one(UpdateProgress).query_one("#update-status")
        seen: list[str] = []
        await screen.run_action("update")
        while screen.busy():
            seen.append(f"{shown(status)} | {shown(line)}")
            await pilot.pause(0.02)
        training = [s for s in seen if "step " in s and "ETA" in s]
        assert training and all("then scoring" in s for s in training if "ETA …" not in s)
        after = [s for s in seen if "step " not in s and "score" in s]
        assert after and any("ETA" in s for s in after)  # the wait after training still counts down


async def test_the_sessions_list_names_probes_as_the_header_does_and_marks_worse_than_base(sample):
    app = make_app(WorseThanBase())
    async with app.run_test(size=(140, 30)) as pilot:
        screen = await open_session(pilot, paper=sample)  # probes 'given' on a paper without questions
        await write_then_learn(pilot, screen)
        assert "probes cloze (no given questions)" in screen.sub_title
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, SessionsScreen), what="list")
        await pilot.pause()
        row = str(app.screen.query_one("#session-list").get_option_at_index(0).prompt)
        assert "probes cloze (no given questions)" in row and "probes given " not in row
        assert "v1" in row and "worse than base: P1" in row
