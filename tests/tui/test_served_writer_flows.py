"""The app with a served writer (engine.runtime.served) on a stub server: a candidate the
server fails to write says why on its card, the history names who wrote the edits, and the
new-session form takes the server's URL."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rich.console import Group

from engine.config import ModelConfig
from engine.runtime.pair import Pair
from engine.runtime.served import ServedWriter
from engine.sessions.home import Home
from seal_tui.app import SealApp
from seal_tui.screens.history import HistoryScreen
from seal_tui.screens.new_session import NewSessionScreen
from tools.openai_stub import Reply, StubServer
from tools.pilot import SAMPLE_CONFIG, open_session, until
from tools.scripted_runtime import FakeRuntime

pytestmark = pytest.mark.asyncio

BROKEN = {"error": {"message": "model [big] is loading", "type": "unavailable"}}


def shown(widget) -> str:
    drawn = widget.render()
    return "\n".join(map(str, drawn.renderables)) if isinstance(drawn, Group) else str(drawn)


def served_app(url: str) -> SealApp:
    writer = Pair(ServedWriter(url, "big"), FakeRuntime())
    return SealApp(runtime_factory=lambda config: writer, home=Home())


async def test_a_failed_candidate_says_why_on_its_card_and_writing_again_replaces_it(sample):
    with StubServer([Reply(["- Founded in 1873."]), Reply(status=503, error=BROKEN)]) as stub:
        app = served_app(stub.url)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_session(pilot, paper=sample)
            await screen.run_action("generate")
            await until(pilot, lambda: not screen.busy() and len(screen.query_one("#cards").cards) == 2, what="cards")
            await pilot.pause()
            written, failed = screen.query_one("#cards").cards
            assert written.status == "pending" and failed.status == "failed"
            message = f"the writer at {stub.url} answered HTTP 503: model [big] is loading"
            assert "✗ not written" in shown(failed) and message in shown(failed)
            assert any(message in n.message for n in app._notifications)
            assert len(screen.session.self_edits(screen.passage_id)) == 1
            assert screen.session.store.passage(screen.passage_id).status == "new"
            stub.replies.append(Reply(["- On Quenby."]))
            await screen.run_action("generate")
            await until(
                pilot,
                lambda: not screen.busy() and [c.status for c in screen.query_one("#cards").cards] == ["pending"] * 2,
                what="written again",
            )
            assert screen.session.store.passage(screen.passage_id).status == "edits"


async def test_the_history_names_the_served_writer_and_the_header_the_server(sample):
    with StubServer([Reply(["- The Velmora Observatory was founded in 1873."])]) as stub:
        app = served_app(stub.url)
        async with app.run_test(size=(100, 30)) as pilot:
            config = replace(SAMPLE_CONFIG, model=ModelConfig(writer_url=stub.url, writer_model="big"))
            screen = await open_session(pilot, config=config, paper=sample)
            assert f"written at {stub.url.removeprefix('http://')}" in screen.sub_title
            await screen.run_action("generate")
            await until(pilot, lambda: not screen.busy() and len(screen.query_one("#cards").cards) == 2, what="cards")
            await screen.run_action("update")
            await until(pilot, lambda: not screen.busy() and screen.session.current_version == 1, what="update")
            await pilot.press("h")
            await until(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
            text = "\n".join(shown(s) for s in app.screen.query("Static"))
            assert f"written by served: big at {stub.url.removeprefix('http://')}" in text


async def test_the_form_takes_a_writer_url_and_refuses_one_with_a_password():
    app = SealApp(runtime_factory=lambda config: FakeRuntime(), home=Home())
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, NewSessionScreen)
        form.query_one("#name").value = "served"
        form.query_one("#writer-url").value = "http://me:hunter2@127.0.0.1:8000"
        form.action_create()
        await pilot.pause()
        error = str(form.query_one("#form-error").render())
        assert app.screen is form and "SEAL_WRITER_API_KEY" in error and "hunter2" not in error
        form.query_one("#writer-url").value = "http://127.0.0.1:8000/v1"
        form.query_one("#writer-model").value = "big"
        form.query_one("#writer-timeout").value = "0"
        form.action_create()
        await pilot.pause()
        error = str(form.query_one("#form-error").render())
        assert app.screen is form and "writer_timeout must be 1..86400 seconds, got 0.0" in error
        form.query_one("#writer-timeout").value = "45"
        form.action_create()
        await pilot.pause()
    model = Home().open("served", read_only=True).config.model
    assert (model.writer_url, model.writer_model, model.writer_timeout) == ("http://127.0.0.1:8000/v1", "big", 45)


async def test_a_reply_past_the_deadline_says_so_on_its_card(sample):
    with StubServer([Reply(["- Founded in 1873."], drip=0.05)]) as stub:
        writer = Pair(ServedWriter(stub.url, "big", reply_timeout=1), FakeRuntime())
        app = SealApp(runtime_factory=lambda config: writer, home=Home())
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_session(pilot, paper=sample)
            await screen.run_action("generate")
            await until(pilot, lambda: not screen.busy() and len(screen.query_one("#cards").cards) == 1, what="card")
            await pilot.pause()
            (failed,) = screen.query_one("#cards").cards
            assert failed.status == "failed"
            assert f"the writer at {stub.url} did not finish its reply within 1 s" in shown(failed)
            assert screen.session.self_edits(screen.passage_id) == []
