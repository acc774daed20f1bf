"""The store's SQLite connection: opening (WAL, foreign keys, migrations) and transactions.

Only engine.store uses this. A write is one `with conn.write() as c:` block: BEGIN IMMEDIATE,
COMMIT at the end, ROLLBACK of the whole block on any error (ctrl-c included), so a killed
process loses the step in flight and nothing else. A lock serialises threads sharing it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from engine.session_lock import exclusive
from engine.store.migrations import migrations
from engine.store.rows import StoreError

MIGRATION_LOCK = ".seal.lock"
"""Beside seal.db: held while a process switches the database to WAL and migrates it, so any
number of processes may open a fresh home at once."""


class Connection:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = Database(sqlite3.connect(str(path), timeout=30, check_same_thread=False))
        self._lock = threading.RLock()
        with exclusive(path.parent / MIGRATION_LOCK):
            self.db.enable_wal()
            self.db.execute("PRAGMA foreign_keys = ON")
            migrations.apply(self.db)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; constraint failures come out as StoreError."""
        with self._lock:
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.commit()
            except sqlite3.IntegrityError as exc:
                conn.rollback()
                raise StoreError(f"database constraint failed: {exc}") from exc
            except BaseException:
                conn.rollback()
                raise

    def all(self, sql: str, params: Sequence = ()) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self.db.conn.cursor()
            cursor.row_factory = sqlite3.Row
            return cursor.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence = ()) -> sqlite3.Row | None:
        found = self.all(sql, params)
        return found[0] if found else None

    def need(self, what: str, sql: str, params: Sequence) -> sqlite3.Row:
        """The row that sql selects by the id params[0]; a missing row is a StoreError."""
        row = self.one(sql, params)
        if row is None:
            raise StoreError(f"no {what} with id {params[0]}")
        return row

    @staticmethod
    def change(conn: sqlite3.Connection, what: str, sql: str, params: Sequence) -> None:
        """Run an UPDATE whose last parameter is the row id; a missing row is a StoreError."""
        if conn.execute(sql, params).rowcount == 0:
            raise StoreError(f"no {what} with id {params[-1]}")
