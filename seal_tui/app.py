"""SealApp: wires the screens together. The model runtime and the session home come from
outside (tests hand in a scripted runtime and a temporary home); nothing heavy is
imported until a session screen's worker builds the runtime after the first frame.
Leaving the app gives every open session back (its model closed, its writer lock released)."""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

from engine.config import ConfigError, SessionConfig
from engine.session_lock import SessionLocked
from engine.sessions.home import Home
from engine.store import StoreError
from seal_tui.failure_text import failure_text

if TYPE_CHECKING:
    from engine.runtime.protocol import Runtime
    from seal_tui.host import SealHost
    from seal_tui.screens.session import SessionScreen


def model_runtime(config: SessionConfig) -> Runtime:
    """The session's model (engine.runtime.factory), imported only when a session needs it."""
    from engine.runtime.factory import build_runtime

    return build_runtime(config.model, config.train)


def _declared_by_seal(cls: type) -> set[str]:
    """The actions of the bindings that seal's own classes declare (not those inherited from
    Textual's widgets)."""
    actions: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("seal_tui"):
            for binding in vars(klass).get("BINDINGS", []):
                actions.add(binding.action if isinstance(binding, Binding) else binding[1])
    return actions


class SealApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "seal"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+s", "screenshot", "Screenshot", show=False),
    ]

    def __init__(
        self, runtime_factory: Callable[[SessionConfig], Runtime] | None = None, home: Home | None = None
    ) -> None:
        super().__init__()
        self.runtime_factory = runtime_factory or model_runtime
        self.home = home or Home()
        self._sessions: weakref.WeakSet[SessionScreen] = weakref.WeakSet()
        """Session screens that hold a session (each gives it back once, when it goes)."""

    def on_mount(self) -> None:
        from seal_tui.screens.sessions import SessionsScreen

        self.push_screen(SessionsScreen())

    def open_session(self, name: str, config: SessionConfig | None = None, paper: str | None = None) -> None:
        """Create the session when a config is given for a new name, then show it."""
        from seal_tui.screens.session import SessionScreen

        try:
            if config is not None and not self.home.exists(name):
                self.home.create(name, config)
        except (SessionLocked, OSError, sqlite3.Error, StoreError, ConfigError) as exc:
            self.notify(
                failure_text(exc, self.home.path / "seal.db"),
                title=f"Cannot create {name}",
                severity="error",
                timeout=10,
            )
            return
        self.push_screen(SessionScreen(name, paper))

    def opened(self, screen: SessionScreen) -> None:
        """A session screen holds its session from now until it gives it back."""
        self._sessions.add(screen)

    def on_unmount(self) -> None:
        for screen in list(self._sessions):  # each screen has given its own back as it went
            screen.release()

    def training(self) -> bool:
        return any(w.group in ("update", "editor") and w.is_running for w in self.workers)

    def action_help(self) -> None:
        from seal_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        if not self.training():
            self.exit()
            return
        from seal_tui.screens.confirm_quit import ConfirmQuitScreen

        def answer(quit_now: bool | None) -> None:
            if quit_now:
                for screen in self.screen_stack:
                    if (stop := getattr(screen, "stop", None)) is not None:
                        stop.set()
                self.exit()

        doing = next(
            (
                work
                for screen in reversed(self.screen_stack)
                if callable(busy := getattr(screen, "busy", None)) and (work := busy())
            ),
            "",
        )
        self.push_screen(ConfirmQuitScreen(doing or "training"), answer)

    # Replaces Textual's screenshot action: saves into the session home and returns the path it wrote.
    def action_screenshot(self, filename: str | None = None) -> str:  # type: ignore[override]
        path = self.save_screenshot(filename=filename, path=str(self.home.path))
        self.notify(f"Saved {path}")
        return path

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every binding seal declares on the screen (and the focused widget) in the command
        palette too; Textual's generic ones (scrolling, focus moves, copy) and its own
        screenshot, which seal's replaces, stay out."""
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            title = binding.tooltip or binding.description
            if (
                binding.system
                or not binding.description
                or title in seen
                or active.node is self
                or binding.action not in _declared_by_seal(type(active.node))
            ):
                continue
            seen.add(title)
            node = cast("Widget | App[Any]", active.node)  # Textual types it DOMNode; it is a widget or the app
            yield SystemCommand(
                title, f"{title} (key {binding.key_display or key})", partial(node.run_action, binding.action)
            )
        yield SystemCommand("Help", "Keys and how a session goes (key ?)", self.action_help)
        yield SystemCommand(
            "Screenshot", "Save an SVG of the screen into the session home (ctrl+s)", self.action_screenshot
        )


if TYPE_CHECKING:

    def _a_host(app: SealApp) -> SealHost:
        return app  # mypy: SealApp gives the screens what seal_tui.host promises them
