"""What screens and widgets use of the app they run in, as a Protocol, so they need not
import seal_tui.app (which imports the screens). SealApp is one (app.py checks it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast

from textual.dom import DOMNode

from engine.config import SessionConfig
from engine.sessions.home import Home

if TYPE_CHECKING:
    from engine.runtime.protocol import Runtime
    from seal_tui.screens.session import SessionScreen


class SealHost(Protocol):
    home: Home
    runtime_factory: Callable[[SessionConfig], Runtime]

    def open_session(self, name: str, config: SessionConfig | None = None, paper: str | None = None) -> None: ...
    def opened(self, screen: SessionScreen) -> None: ...


def seal_app(node: DOMNode) -> SealHost:
    """The app a seal widget or screen runs in: Textual types `node.app` as `App[Any]`."""
    return cast(SealHost, node.app)
