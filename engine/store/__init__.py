"""SQLite storage for sessions: numbered migrations plus the one Store class that writes SQL."""

from engine.store.rows import StoreError
from engine.store.store import Store

__all__ = ["Store", "StoreError"]
