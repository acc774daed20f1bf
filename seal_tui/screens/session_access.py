"""What the session screen may do now: open the session for writing or read-only, follow a
process that writes it, and refuse keys that would write while read-only or change a
decision while work reads the decisions. A mixin for SessionScreen (session, workers,
model_state, writer, writer_gone, closed, stop).
"""

from __future__ import annotations

import sqlite3
import threading

from textual.worker import Worker, WorkerState

from engine.config import ConfigError
from engine.session import NoModel
from engine.session_lock import SessionLocked, WriterLock
from engine.store import StoreError
from seal_tui.host import seal_app
from seal_tui.screens.session_state import SessionState
from seal_tui.screens.session_workers import WORK

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


def active(worker: Worker) -> bool:
    """Started or about to start: a worker counts from the moment it is asked for."""
    return worker.state in (WorkerState.PENDING, WorkerState.RUNNING)


class SessionAccess(SessionState):
    def _open(self):
        """The session for writing; read-only (no model) when another process writes it."""
        home = seal_app(self).home
        try:
            return home.open(self.session_name, runtime=NoModel("the model is still loading"))
        except SessionLocked as exc:
            holder = exc.holder
            self.writer = f"process {holder.pid} ({holder.command})" if holder else "another process"
            session = home.open(self.session_name, runtime=NoModel("the session is open read-only"), read_only=True)
            who = holder.describe() if holder else "another process"
            self.notify(
                f"{self.session_name} is open read-only, without the model: {who} is writing it. "
                "Reopen it here once that process has closed it to work on it.",
                title="Read-only",
                severity="warning",
                timeout=12,
            )
            return session

    def _signature(self):
        """What changes on screen when the writing process stores something."""
        passages = self.opened_session.passages()
        edits = self.opened_session.self_edits(self.passage_id) if self.passage_id is not None else []
        return (
            self.opened_session.current_version,
            len(self.opened_session.updates()),
            [(p.id, p.status) for p in passages],
            [(e.id, e.status, e.decided_by, e.text, e.reward) for e in edits],
            len(self.opened_session.scores()),
        )

    def _follow_writer(self) -> None:
        """Read-only: show what the writer stored since the last look (cheap when nothing did)."""
        if self.closed or not self.is_attached:
            return
        try:
            seen = self._signature()
        except OPEN_FAILURES:
            return  # the writer is in the middle of something: look again next time
        if seen != self._seen:
            self._seen = seen
            self.refresh_all()
        if not self.writer_gone and self._writer_left():
            self.writer_gone = True
            self.notify(f"Read-only: {self._why_read_only(self.session_name)}.", title="Session free")
            self._subtitle()

    def _writer_left(self) -> bool:
        try:
            return WriterLock(seal_app(self).home.path / self.session_name, self.session_name).holder() is None
        except OSError:
            return False

    def _why_read_only(self, what: str = "this session") -> str:
        who = self.writer or "another process"
        if self.writer_gone:
            return f"{who} has closed {what}: b, then open it again to work on it"
        return f"{who} is writing {what}"

    # -- workers -------------------------------------------------------------------
    def _mine(self, groups) -> list[Worker]:
        return [w for w in self.workers if w.node is self and w.group in groups and active(w)]

    def busy(self) -> str:
        running = self._mine(WORK)
        return running[0].description if running else ""

    def training(self) -> bool:
        return bool(self._mine(("update", "editor")))

    def _writable(self) -> bool:
        """Whether this session may be written here; warns once per refused key."""
        if not self.opened_session.read_only:
            return True
        if self.model_state == "read-only":
            self.notify(f"Read-only: {self._why_read_only()}.", severity="warning")
        else:
            self.notify(f"This session cannot be written here: {self.opened_session.read_only}.", severity="warning")
        return False

    def _may_decide(self) -> bool:
        """Whether a decision or a text may change now: not while work reads them."""
        if not self._writable():
            return False
        if frozen := self._mine(FROZEN):
            self.notify(FROZEN[frozen[0].group], severity="warning")
            return False
        return True

    def _can_start(self, needs_model: bool = True) -> bool:
        if not self._writable():
            return False
        if doing := self.busy():
            self.notify(f"Busy {doing}; Esc cancels it.", severity="warning")
            return False
        if needs_model and self.model_state != "ready":
            why = (
                f"the model failed to load: {self.model_error}"
                if self.model_state == "failed"
                else "the model is still loading"
            )
            self.notify(f"Cannot start yet: {why}.", severity="warning")
            return False
        self.stop = threading.Event()
        return True
