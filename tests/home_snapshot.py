"""A session home as bytes, to assert that bad input leaves it exactly as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SKIPPED = {"seal.db-wal", "seal.db-shm", ".lock", ".seal.lock"}
"""Files that come and go with every connection or lock, whatever happens."""


def snapshot(home: Path) -> tuple[dict[str, bytes | None], list[str]]:
    """Every file's bytes (a folder as None) under the home, and the database's SQL dump."""
    files = {
        str(p.relative_to(home)): None if p.is_dir() else p.read_bytes()
        for p in sorted(home.rglob("*"))
        if p.name not in SKIPPED
    }
    conn = sqlite3.connect(home / "seal.db")
    try:
        return files, list(conn.iterdump())
    finally:
        conn.close()
