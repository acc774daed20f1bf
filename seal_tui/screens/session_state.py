"""What SessionScreen holds, declared for its mixins (SessionAccess, SessionWorkers) so that
they are type-checked against it; at run time the base is a plain object and the screen
sets every attribute in its __init__."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from textual.screen import Screen as _Base

    from engine.domain import Passage
    from engine.session import Session
else:
    _Base = object


class SessionState(_Base):
    session_name: str
    first_paper: str | None
    session: Session | None
    """None until on_mount opens it (and when opening failed)."""
    passage_id: int | None
    metric: str
    model_state: str
    model_error: str
    model_name: str
    stop: threading.Event
    writer: str
    writer_gone: bool
    closed: bool
    _guard: threading.Lock
    _working: int
    _seen: tuple[object, ...] | None

    @property
    def opened_session(self) -> Session:
        """The session, for code that runs only once on_mount has opened it (keys, messages,
        workers, timers)."""
        return cast("Session", self.session)

    if TYPE_CHECKING:  # defined by SessionScreen and its other mixins

        @property
        def passage(self) -> Passage | None: ...

        def refresh_all(self) -> None: ...

        def refresh_cards(self) -> None: ...

        def _subtitle(self) -> None: ...

        def _selected(self) -> Passage | None: ...

        def busy(self) -> str: ...

        def _writable(self) -> bool: ...

        def _may_decide(self) -> bool: ...

        def _can_start(self, needs_model: bool = True) -> bool: ...

        # thread workers (session_workers.py): Textual's @work gives them this signature
        def _generate(self, *args: Any, **kwargs: Any) -> Any: ...

        def _fill_answers(self, *args: Any, **kwargs: Any) -> Any: ...

        def _score_drift(self, *args: Any, **kwargs: Any) -> Any: ...
