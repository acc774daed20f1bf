"""One flow on the real embedded model with short settings (slow: minutes on a CPU)."""

from __future__ import annotations

import pytest

from engine.config import GenerationConfig, SessionConfig, TrainConfig
from engine.sessions.home import Home
from seal_tui.app import SealApp
from seal_tui.screens.session import SessionScreen
from seal_tui.widgets.heatmap import Heatmap
from tests.conftest import embedded_model_available
from tools.pilot import until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.asyncio,
    pytest.mark.skipif(not embedded_model_available(), reason="the embedded model is not installed"),
]

SHORT = SessionConfig(
    passage_tokens=120,
    generation=GenerationConfig(candidates=1, max_tokens=48, seed=0),
    # the flow around one update: the passage trains twice, not the recipe's 16 times
    train=TrainConfig(rank=4, alpha=8, epochs=1, passage_repeats=2, max_length=128),
)


async def test_a_passage_learned_on_the_embedded_model(sample):
    app = SealApp(home=Home())  # the default runtime: llama.cpp + torch/peft
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_session("real", SHORT, paper=str(sample))
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        screen = app.screen
        await until(pilot, lambda: screen.model_state != "loading", timeout=300, what="model load")
        assert screen.model_state == "ready", screen.model_error
        await until(pilot, lambda: screen.session.passages() and not screen.busy(), timeout=60, what="paper")
        await screen.run_action("update")  # u on a passage without candidates writes them and stops for review
        await until(pilot, lambda: not screen.busy(), timeout=300, what="candidates written")
        await screen.run_action("update")
        await until(pilot, lambda: not screen.busy(), timeout=900, what="update")
        assert screen.session.current_version == 1
        assert screen.query_one(Heatmap).matrix.rows == [0, 1]
        assert screen.session.self_edits(screen.passage_id)
