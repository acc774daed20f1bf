"""The store's part for the self-improving editor: its rounds, one row each."""

from __future__ import annotations

from engine.domain import EditorRound
from engine.store import rows
from engine.store.connection import Connection
from engine.store.rows import StoreError


class EditorRoundsStore:
    """Mixed into Store; uses its connection (self._c)."""

    _c: Connection

    def add_editor_round(
        self,
        session_id: int,
        trigger: str,
        edit_ids: list[int],
        params: dict,
        losses: list[float],
        adapter_path: str,
        seconds: float,
        learned_passages: int,
    ) -> EditorRound:
        """Record a trained editor round; it gets the session's next round number."""
        rows.check_one_of("round trigger", trigger, rows.ROUND_TRIGGERS)
        if not edit_ids:
            raise StoreError("an editor round needs at least one kept self-edit")
        with self._c.write() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise StoreError(f"no session with id {session_id}")
            number = conn.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM editor_rounds WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            round_id = conn.execute(
                "INSERT INTO editor_rounds (session_id, number, trigger, edit_ids, params, losses,"
                " adapter_path, seconds, learned_passages, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    number,
                    trigger,
                    rows.to_json([int(i) for i in edit_ids]),
                    rows.to_json(params),
                    rows.to_json([float(x) for x in losses]),
                    adapter_path,
                    float(seconds),
                    int(learned_passages),
                    rows.now(),
                ),
            ).lastrowid
        return rows.editor_round(self._c.need("editor round", "SELECT * FROM editor_rounds WHERE id = ?", (round_id,)))

    def editor_rounds(self, session_id: int) -> list[EditorRound]:
        found = self._c.all("SELECT * FROM editor_rounds WHERE session_id = ? ORDER BY number", (session_id,))
        return [rows.editor_round(r) for r in found]
