"""Keys pressed in a state where they cannot act: each is a notification (or a form error)
that says why, the app keeps running on the same screen, and the session home is unchanged.

The home holds "demo" (the sample paper learned, every candidate decided) and "empty" (no
papers yet), made once with the scripted runtime and copied for each case.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.config import GenerationConfig, SessionConfig, TrainConfig
from engine.papers.ingest import read_paper
from engine.sessions.home import Home
from seal_tui.screens.add_paper import AddPaperScreen
from seal_tui.screens.new_session import NewSessionScreen
from seal_tui.screens.session import SessionScreen
from seal_tui.screens.sessions import SessionsScreen
from seal_tui.widgets.heatmap import Heatmap
from tests.home_snapshot import snapshot
from tools.pilot import make_app, until
from tools.scripted_runtime import FakeRuntime

pytestmark = pytest.mark.asyncio

PAPER = Path(__file__).parents[1] / "fixtures" / "velmora.md"


class SlowLoad(FakeRuntime):
    """A model that is still loading until the test lets it finish."""

    def __init__(self):
        super().__init__()
        self.go = threading.Event()

    def load(self):
        self.go.wait(10)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("homes") / "home"
    home = Home(path)
    config = SessionConfig(generation=GenerationConfig(candidates=2), train=TrainConfig(epochs=1))
    session = home.open("demo", config, FakeRuntime())
    session.add_paper(read_paper(PAPER)[0])
    session.run()
    session.close()
    home.create("empty", config)
    home.close()
    return path


@pytest.fixture
def home(template, seal_home) -> Path:
    shutil.copytree(template, seal_home)
    return seal_home


Steps = Callable[[object, object], Awaitable[None]]


def keys(*pressed: str) -> Steps:
    async def steps(pilot, screen) -> None:
        await pilot.press(*pressed)

    return steps


async def z_on_current_row(pilot, screen) -> None:
    heatmap = screen.query_one(Heatmap)
    heatmap.focus()
    heatmap.select_version(screen.session.current_version)
    await pilot.pause()
    await pilot.press("z")


def add_paper(path: str) -> Steps:
    """Types the path ("{tmp}" is a folder that holds a binary paper.pdf and an empty.md)."""

    async def steps(pilot, screen) -> None:
        tmp = Path(screen.app.home.path).parent / "input"
        tmp.mkdir(exist_ok=True)
        (tmp / "paper.pdf").write_bytes(b"\x00\x01binary\xff" * 32)
        (tmp / "empty.md").write_bytes(b"")
        await pilot.press("p")
        await until(pilot, lambda: isinstance(pilot.app.screen, AddPaperScreen), what="add-paper dialog")
        dialog = pilot.app.screen
        dialog.query_one("#path").value = path.replace("{tmp}", str(tmp))
        await pilot.press("enter")
        await until(pilot, lambda: pilot.app._notifications, what="the paper read")
        assert pilot.app.screen is dialog  # it stays, with the path typed and why it cannot be added
        await pilot.press("escape")
        await until(pilot, lambda: pilot.app.screen is screen and not screen.busy(), what="the dialog closed")

    return steps


async def add_nothing(pilot, screen) -> None:
    await pilot.press("p")
    await until(pilot, lambda: isinstance(pilot.app.screen, AddPaperScreen), what="add-paper dialog")
    await pilot.press("ctrl+s")
    await until(pilot, lambda: pilot.app._notifications, what="a notification")
    assert isinstance(pilot.app.screen, AddPaperScreen)  # the dialog stays for a path
    await pilot.press("escape")
    await until(pilot, lambda: pilot.app.screen is screen, what="the dialog closed")


@dataclass(frozen=True)
class Case:
    id: str
    session: str
    steps: Steps
    words: str
    """What a notification must say."""
    loading: bool = False
    """The model is still loading while the keys are pressed."""


CASES = [
    Case("update-without-passage", "empty", keys("u"), "No passage selected: add a paper with p"),
    Case("accept-all-without-passage", "empty", keys("A"), "No passage selected"),
    Case("reject-all-without-passage", "empty", keys("R"), "No passage selected"),
    Case("generate-without-passage", "empty", keys("s"), "No passage selected"),
    Case("editor-without-kept-edits", "empty", keys("i"), "needs at least 2 kept self-edits; this session has 0"),
    Case("generate-while-loading", "demo", keys("s"), "Cannot start yet: the model is still loading", loading=True),
    Case("regenerate-while-loading", "demo", keys("g"), "Cannot start yet: the model is still loading", loading=True),
    Case("filter-while-loading", "demo", keys("f"), "Cannot start yet: the model is still loading", loading=True),
    Case("update-while-loading", "demo", keys("u"), "Cannot start yet: the model is still loading", loading=True),
    Case("editor-while-loading", "demo", keys("i"), "Cannot start yet: the model is still loading", loading=True),
    Case("rollback-to-current-row", "demo", z_on_current_row, "v3 is already the current version"),
    Case("rollback-on-empty-session", "empty", z_on_current_row, "base is already the current version"),
    Case("filter-without-pending", "demo", keys("f"), "No undecided candidates here"),
    Case("update-on-learned-passage", "demo", keys("u"), "is already learned"),
    Case("generate-when-candidates-exist", "demo", keys("s"), "This passage has its candidates"),
    Case("paper-that-does-not-exist", "demo", add_paper("/no/such/paper.md"), "/no/such/paper.md: no such file"),
    Case("paper-that-is-no-pdf", "empty", add_paper("{tmp}/paper.pdf"), "not a PDF file"),
    Case("paper-that-is-empty", "empty", add_paper("{tmp}/empty.md"), "empty.md: empty file"),
    Case("add-paper-with-nothing-typed", "demo", add_nothing, "Type a path or paste some text first"),
    Case("reject-all-on-learned-passage", "demo", keys("R"), "P1 is learned (v1 trained on these decisions)"),
    Case("regenerate-on-learned-passage", "demo", keys("g"), "P1 is learned (v1 trained on these decisions)"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_a_key_in_the_wrong_state_says_why_and_changes_nothing(case, home):
    runtime = SlowLoad() if case.loading else FakeRuntime()
    app = make_app(runtime)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            app.open_session(case.session)
            await until(
                pilot,
                lambda: isinstance(app.screen, SessionScreen) and app.screen.session is not None,
                what="session screen",
            )
            screen = app.screen
            if not case.loading:
                await until(pilot, lambda: screen.model_state == "ready", what="model ready")
            await pilot.pause()
            app.clear_notifications()
            before = snapshot(home)
            await case.steps(pilot, screen)
            await until(
                pilot,
                lambda: any(case.words in n.message for n in app._notifications),
                timeout=5,
                what=f"a notification saying {case.words!r}",
            )
            assert app.is_running and app.screen is screen and not screen.busy()
            assert screen.model_state == ("loading" if case.loading else "ready")
            assert snapshot(home) == before
            if case.loading:  # the model arrives, and the app goes on
                runtime.go.set()
                await until(pilot, lambda: screen.model_state == "ready", what="model ready")
    finally:
        if isinstance(runtime, SlowLoad):
            runtime.go.set()


async def test_escape_with_nothing_running_does_nothing(home):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_session("demo")
        await until(pilot, lambda: getattr(app.screen, "model_state", "") == "ready", what="model ready")
        screen = app.screen
        app.clear_notifications()
        before = snapshot(home)
        assert not screen.check_action("cancel", ())  # not offered in the footer either
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and list(app._notifications) == [] and not screen.stop.is_set()
        assert snapshot(home) == before


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("name", "DEMO", "'demo' already exists (names differ only in case)"),
        ("name", "..", "invalid session name"),
        ("candidates", "-1", "candidates must be 0..64"),
        ("model", str(PAPER), "not a GGUF file"),
        ("model", "GGUF", "truncated GGUF"),
        ("edits-from", "/no/such/edits.json", "no such file"),
    ],
)
async def test_the_new_session_form_refuses_bad_values_and_creates_nothing(field, value, words, home, tmp_path):
    if value == "GGUF":  # the magic and nothing else: refused before a session exists
        (tmp_path / "cut.gguf").write_bytes(b"GGUF")
        value = str(tmp_path / "cut.gguf")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        assert isinstance(app.screen, SessionsScreen)
        before = snapshot(home)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewSessionScreen), what="the form")
        form = app.screen
        form.query_one("#name").value = "fresh"
        form.query_one(f"#{field}").value = value
        await pilot.click("#create")
        await pilot.pause()
        assert app.screen is form and words in str(form.query_one("#form-error").render())
        assert snapshot(home) == before
