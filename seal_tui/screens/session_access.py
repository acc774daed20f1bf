"""What the session screen may do now: open the session for writing or read-only, follow a
process that writes it, and refuse keys that would write while read-only or change a
decision while work reads the decisions. SessionAccess belongs to one SessionScreen and
warns through it.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import TYPE_CHECKING

from engine.config import ConfigError
from engine.session_lock import SessionLocked, WriterLock
from engine.sessions.session import NoModel
from engine.store import StoreError
from seal_tui.host import seal_app

if TYPE_CHECKING:
    from engine.sessions.session import Session
    from seal_tui.screens.session import SessionScreen

OPEN_FAILURES = (OSError, sqlite3.Error, StoreError, ConfigError)
"""What opening a session may raise that a person can act on (shown, then back to the list)."""
FROZEN = {
    "update": "An update is training on the decisions made before it started; decide after it ends (Esc cancels it).",
    "filter": "The reward filter is deciding these candidates; decide after it ends (Esc cancels it).",
    "editor": "The editor is training on the kept self-edits; decide after it ends (Esc cancels it).",
}
"""Worker groups that read the decisions while they run, and why a decision waits for them."""
WATCH_S = 2.0
"""How often a read-only screen looks for what the writing process has stored."""


class SessionAccess:
    def __init__(self, screen: SessionScreen) -> None:
        self.screen = screen
        self.writer = ""
        """Who writes the session when it is open read-only ("process 123 (seal run)")."""
        self.writer_gone = False
        self.seen: tuple[object, ...] | None = None
        """What the screen last showed of a session another process writes (signature)."""

    def open(self) -> Session:
        """The session for writing; read-only (no model) when another process writes it."""
        screen = self.screen
        home = seal_app(screen).home
        try:
            return home.open(screen.session_name, runtime=NoModel("the model is still loading"))
        except SessionLocked as exc:
            holder = exc.holder
            self.writer = f"process {holder.pid} ({holder.command})" if holder else "another process"
            session = home.open(screen.session_name, runtime=NoModel("the session is open read-only"), read_only=True)
            who = holder.describe() if holder else "another process"
            screen.notify(
                f"{screen.session_name} is open read-only, without the model: {who} is writing it. "
                "Reopen it here once that process has closed it to work on it.",
                title="Read-only",
                severity="warning",
                timeout=12,
            )
            return session

    def signature(self) -> tuple[object, ...]:
        """What changes on screen when the writing process stores something."""
        session, passage_id = self.screen.opened_session, self.screen.passage_id
        passages = session.passages()
        edits = session.self_edits(passage_id) if passage_id is not None else []
        return (
            session.current_version,
            len(session.updates()),
            [(p.id, p.status) for p in passages],
            [(e.id, e.status, e.decided_by, e.text, e.reward) for e in edits],
            len(session.scores()),
        )

    def follow_writer(self) -> None:
        """Read-only: show what the writer stored since the last look (cheap when nothing did)."""
        screen = self.screen
        if screen.work.closed or not screen.is_attached:
            return
        try:
            seen = self.signature()
        except OPEN_FAILURES:
            return  # the writer is in the middle of something: look again next time
        if seen != self.seen:
            self.seen = seen
            screen.refresh_all()
        if not self.writer_gone and self._writer_left():
            self.writer_gone = True
            screen.notify(f"Read-only: {self.why_read_only(screen.session_name)}.", title="Session free")
            screen.show_subtitle()

    def _writer_left(self) -> bool:
        screen = self.screen
        try:
            return WriterLock(seal_app(screen).home.path / screen.session_name, screen.session_name).holder() is None
        except OSError:
            return False

    def why_read_only(self, what: str = "this session") -> str:
        who = self.writer or "another process"
        if self.writer_gone:
            return f"{who} has closed {what}: b, then open it again to work on it"
        return f"{who} is writing {what}"

    def writable(self) -> bool:
        """Whether this session may be written here; warns once per refused key."""
        screen = self.screen
        if not screen.opened_session.read_only:
            return True
        if screen.model_state == "read-only":
            screen.notify(f"Read-only: {self.why_read_only()}.", severity="warning")
        else:
            screen.notify(
                f"This session cannot be written here: {screen.opened_session.read_only}.", severity="warning"
            )
        return False

    def may_decide(self) -> bool:
        """Whether a decision or a text may change now: not while work reads them."""
        if not self.writable():
            return False
        if frozen := self.screen.work.running(FROZEN):
            self.screen.notify(FROZEN[frozen[0].group], severity="warning")
            return False
        return True

    def can_start(self, needs_model: bool = True) -> bool:
        """Whether new work may start now (warns why not); it gets a fresh stop Event."""
        screen = self.screen
        if not self.writable():
            return False
        if doing := screen.work.busy():
            screen.notify(f"Busy {doing}; Esc cancels it.", severity="warning")
            return False
        if needs_model and screen.model_state != "ready":
            why = (
                f"the model failed to load: {screen.model_error}"
                if screen.model_state == "failed"
                else "the model is still loading"
            )
            screen.notify(f"Cannot start yet: {why}.", severity="warning")
            return False
        screen.work.stop = threading.Event()
        return True
