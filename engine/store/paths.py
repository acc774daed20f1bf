"""The store's part for where adapters are: stored paths rewritten in one transaction."""

from __future__ import annotations

from engine.store.connection import Connection


class AdapterPathsStore:
    """Mixed into Store; uses its connection (self._c)."""

    _c: Connection

    def set_adapter_paths(self, updates: dict[int, str], rounds: dict[int, str]) -> None:
        """New adapter paths by update id and by editor round id, all or none."""
        with self._c.write() as conn:
            conn.executemany("UPDATE updates SET adapter_path = ? WHERE id = ?", [(p, i) for i, p in updates.items()])
            conn.executemany(
                "UPDATE editor_rounds SET adapter_path = ? WHERE id = ?", [(p, i) for i, p in rounds.items()]
            )
