"""Store: the only code in seal that writes SQL (with connection.py, which it uses).

One SQLite file per sessions home holds every session. Each public write method is one
transaction, so a process killed mid-step loses that step and nothing else; writes are
idempotent where that is natural. Rows leave as engine.domain dataclasses, JSON decoded.
One Store may be shared between threads.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from engine.domain import PaperDraft, Passage, Score, SelfEdit, SessionInfo, Update
from engine.faults import crash_point
from engine.store import rows
from engine.store.connection import Connection
from engine.store.editor_rounds import EditorRoundsStore
from engine.store.names import check_session_name
from engine.store.paths import AdapterPathsStore
from engine.store.rows import StoreError

_SESSIONS = """
SELECT s.*,
  (SELECT COUNT(*) FROM passages p WHERE p.session_id = s.id) AS passages,
  (SELECT COUNT(*) FROM updates u WHERE u.session_id = s.id) AS updates
FROM sessions s
"""
_UPSERT_SCORE = """
INSERT INTO scores (session_id, version, probe_id, passage_id, answer_nll, f1, "contains", answer)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, version, probe_id) DO UPDATE SET
  passage_id = excluded.passage_id, answer_nll = excluded.answer_nll, f1 = excluded.f1,
  "contains" = excluded."contains", answer = excluded.answer
"""


class Store(EditorRoundsStore, AdapterPathsStore):
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._c = Connection(self.path)
        self.db = self._c.db
        """The sqlite_utils Database, for reading in tests and tools; write through Store."""

    def close(self) -> None:
        self._c.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sessions ---------------------------------------------------------------------

    def create_session(self, name: str, config: dict) -> SessionInfo:
        check_session_name(name)
        with self._c.write() as conn:
            same = conn.execute("SELECT name FROM sessions WHERE lower(name) = lower(?)", (name,)).fetchone()
            if same is not None:
                raise StoreError(
                    f"a session named {same[0]!r} already exists"
                    + ("" if same[0] == name else " (names differ only in case)")
                )
            conn.execute(
                "INSERT INTO sessions (name, config, current_version, created_at) VALUES (?, ?, 0, ?)",
                (name, rows.to_json(config), rows.now()),
            )
        created = self.get_session(name)
        assert created is not None  # inserted just above
        return created

    def get_session(self, name: str) -> SessionInfo | None:
        row = self._c.one(_SESSIONS + "WHERE s.name = ?", (name,))
        return rows.session_info(row) if row else None

    def session_named_like(self, name: str) -> str | None:
        """The name of a session whose name equals `name` regardless of case, if any."""
        row = self._c.one("SELECT name FROM sessions WHERE lower(name) = lower(?)", (name,))
        return row["name"] if row else None

    def list_sessions(self) -> list[SessionInfo]:
        return [rows.session_info(r) for r in self._c.all(_SESSIONS + "ORDER BY s.id")]

    def update_session_config(self, session_id: int, config: dict) -> None:
        with self._c.write() as conn:
            self._c.change(
                conn, "session", "UPDATE sessions SET config = ? WHERE id = ?", (rows.to_json(config), session_id)
            )

    # -- papers and passages ----------------------------------------------------------

    def find_paper(self, session_id: int, sha256: str) -> int | None:
        row = self._c.one("SELECT id FROM papers WHERE session_id = ? AND sha256 = ?", (session_id, sha256))
        return row["id"] if row else None

    def add_paper(
        self,
        session_id: int,
        draft: PaperDraft,
        probes: Sequence[Sequence[tuple[str, str, str] | tuple[str, str, str, str]]],
    ) -> list[Passage]:
        """Store a paper, its passages and their probes (probes[i] for passage i) at once;
        a probe is (kind, question, answer[, role])."""
        if not draft.passages:
            raise StoreError(f"paper {draft.title!r} has no passages")
        if len(probes) != len(draft.passages):
            raise StoreError(f"{len(draft.passages)} passages but probes for {len(probes)}")
        ids = []
        with self._c.write() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise StoreError(f"no session with id {session_id}")
            dup = conn.execute(
                "SELECT title FROM papers WHERE session_id = ? AND sha256 = ?", (session_id, draft.sha256)
            ).fetchone()
            if dup:
                raise StoreError(f"this paper is already in the session (as {dup[0]!r})")
            paper_id = conn.execute(
                "INSERT INTO papers (session_id, title, source, sha256, created_at) VALUES (?, ?, ?, ?, ?)",
                (session_id, draft.title, draft.source, draft.sha256, rows.now()),
            ).lastrowid
            (start,) = conn.execute(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM passages WHERE session_id = ?", (session_id,)
            ).fetchone()
            for i, (part, part_probes) in enumerate(zip(draft.passages, probes)):
                passage_id = conn.execute(
                    "INSERT INTO passages (session_id, paper_id, position, title, text, status)"
                    " VALUES (?, ?, ?, ?, ?, 'new')",
                    (session_id, paper_id, start + i, part.title, part.text),
                ).lastrowid
                assert passage_id is not None  # an INSERT sets lastrowid
                ids.append(passage_id)
                for item in part_probes:
                    conn.execute(
                        "INSERT INTO probes (passage_id, kind, question, answer, role) VALUES (?, ?, ?, ?, ?)",
                        (passage_id, *rows.checked_probe(item)),
                    )
        return [self.passage(i) for i in ids]

    def _with_probes(self, passage_rows: list[sqlite3.Row]) -> list[Passage]:
        if not passage_rows:
            return []
        ids = [r["id"] for r in passage_rows]
        marks = ", ".join("?" * len(ids))
        by_passage: dict[int, list] = {i: [] for i in ids}
        for r in self._c.all(f"SELECT * FROM probes WHERE passage_id IN ({marks}) ORDER BY id", ids):
            by_passage[r["passage_id"]].append(rows.probe(r))
        return [rows.passage(r, tuple(by_passage[r["id"]])) for r in passage_rows]

    def passages(self, session_id: int) -> list[Passage]:
        found = self._c.all("SELECT * FROM passages WHERE session_id = ? ORDER BY position", (session_id,))
        return self._with_probes(found)

    def passage(self, passage_id: int) -> Passage:
        row = self._c.need("passage", "SELECT * FROM passages WHERE id = ?", (passage_id,))
        return self._with_probes([row])[0]

    def set_passage_status(self, passage_id: int, status: str) -> None:
        rows.check_one_of("passage status", status, rows.PASSAGE_STATUSES)
        with self._c.write() as conn:
            self._c.change(conn, "passage", "UPDATE passages SET status = ? WHERE id = ?", (status, passage_id))

    # -- self-edits -------------------------------------------------------------------

    def _self_edit(self, edit_id: int) -> SelfEdit:
        return rows.self_edit(self._c.need("self-edit", "SELECT * FROM self_edits WHERE id = ?", (edit_id,)))

    def add_self_edit(
        self,
        passage_id: int,
        strategy: str,
        text: str,
        status: str = "pending",
        decided_by: str | None = None,
        reason: str = "",
        editor_round: int | None = None,
        writer: str | None = None,
    ) -> SelfEdit:
        """Store one candidate; editor_round names the editor round that helped write it,
        writer who wrote it (SelfEdit.writer)."""
        rows.check_decision(status, decided_by)
        stamp = rows.now()
        with self._c.write() as conn:
            edit_id = conn.execute(
                "INSERT INTO self_edits (passage_id, strategy, text, status, decided_by, reason,"
                " created_at, decided_at, editor_round, writer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    passage_id,
                    strategy,
                    text,
                    status,
                    decided_by,
                    reason or "",
                    stamp,
                    None if status == "pending" else stamp,
                    editor_round,
                    writer,
                ),
            ).lastrowid
        assert edit_id is not None  # an INSERT sets lastrowid
        return self._self_edit(edit_id)

    def decide_self_edit(self, edit_id: int, status: str, decided_by: str | None, reason: str = "") -> SelfEdit:
        """Record a decision. A person's decision stands: a policy's, the gate's or the filter's
        is ignored (the edit comes back as the person left it), whenever the person made theirs."""
        rows.check_decision(status, decided_by)
        decided_at = None if status == "pending" else rows.now()
        with self._c.write() as conn:
            sql = "UPDATE self_edits SET status = ?, decided_by = ?, reason = ?, decided_at = ? WHERE id = ?"
            params = (status, decided_by, reason or "", decided_at, edit_id)
            if decided_by in ("person", None):  # a person's decision, or putting one back to pending
                self._c.change(conn, "self-edit", sql, params)
            elif conn.execute(sql + " AND (decided_by IS NULL OR decided_by != 'person')", params).rowcount == 0:
                self._c.need("self-edit", "SELECT id FROM self_edits WHERE id = ?", (edit_id,))
        return self._self_edit(edit_id)

    def edit_self_edit_text(self, edit_id: int, text: str) -> SelfEdit:
        """Replace the text that trains; the first edit that changes it keeps the model's own
        text in original_text, and later edits leave that as it was."""
        with self._c.write() as conn:
            self._c.change(
                conn,
                "self-edit",
                "UPDATE self_edits SET original_text = COALESCE(original_text,"
                " CASE WHEN text != ? THEN text END), text = ? WHERE id = ?",
                (text, text, edit_id),
            )
        return self._self_edit(edit_id)

    def self_edits(self, passage_id: int, status: str | None = None) -> list[SelfEdit]:
        sql = "SELECT * FROM self_edits WHERE passage_id = ?"
        params: list[object] = [passage_id]
        if status is not None:
            rows.check_one_of("self-edit status", status, rows.SELF_EDIT_STATUSES)
            sql, params = sql + " AND status = ?", params + [status]
        return [rows.self_edit(r) for r in self._c.all(sql + " ORDER BY id", params)]

    # -- updates ----------------------------------------------------------------------

    def add_update(
        self,
        session_id: int,
        passage_id: int,
        version: int,
        params: dict,
        losses: list[float],
        adapter_path: str,
        seconds: float,
        examples: int,
        parent_version: int | None = None,
    ) -> Update:
        """Record a LoRA update; the session moves to its version and the passage is learned.

        Recording the same (version, passage, adapter) again returns the stored update.
        """
        with self._c.write() as conn:
            owner = conn.execute("SELECT session_id FROM passages WHERE id = ?", (passage_id,)).fetchone()
            if owner is None or owner[0] != session_id:
                raise StoreError(f"no passage with id {passage_id} in session {session_id}")
            old = conn.execute(
                "SELECT passage_id, adapter_path FROM updates WHERE session_id = ? AND version = ?",
                (session_id, version),
            ).fetchone()
            if old is not None and tuple(old) != (passage_id, adapter_path):
                raise StoreError(f"version {version} of this session already exists (passage {old[0]})")
            if old is None:
                if parent_version is None:  # by default an update continues from the current version
                    parent_version = conn.execute(
                        "SELECT current_version FROM sessions WHERE id = ?", (session_id,)
                    ).fetchone()[0]
                conn.execute(
                    "INSERT INTO updates (session_id, passage_id, version, params, losses, adapter_path,"
                    " seconds, examples, status, created_at, parent_version)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)",
                    (
                        session_id,
                        passage_id,
                        version,
                        rows.to_json(params),
                        rows.to_json([float(x) for x in losses]),
                        adapter_path,
                        float(seconds),
                        int(examples),
                        rows.now(),
                        parent_version,
                    ),
                )
            conn.execute("UPDATE sessions SET current_version = ? WHERE id = ?", (version, session_id))
            conn.execute("UPDATE passages SET status = 'learned' WHERE id = ?", (passage_id,))
            crash_point("update-commit")
        update = self.update_for_version(session_id, version)
        assert update is not None  # recorded above, or found there already
        return update

    def rollback(self, session_id: int, version: int, path: set[int] | None = None) -> None:
        """Make `version` current again. Updates off its path (default: it and its parents)
        are marked abandoned (kept in the history); passages only they had learned go back to
        'edits', edits intact."""
        with self._c.write() as conn:
            parents = dict(
                conn.execute(
                    "SELECT version, parent_version FROM updates WHERE session_id = ?", (session_id,)
                ).fetchall()
            )
            if version != 0 and version not in parents:
                raise StoreError(f"no version {version} in this session")
            if path is None:
                path, v = set(), version
                while v != 0:
                    path.add(v)
                    v = parents[v]
            for v in parents:
                conn.execute(
                    "UPDATE updates SET status = ? WHERE session_id = ? AND version = ?",
                    ("active" if v in path else "abandoned", session_id, v),
                )
            conn.execute("UPDATE sessions SET current_version = ? WHERE id = ?", (version, session_id))
            conn.execute(
                "UPDATE passages SET status = 'edits' WHERE session_id = ? AND status = 'learned' AND id NOT IN"
                " (SELECT passage_id FROM updates WHERE session_id = ? AND status = 'active')",
                (session_id, session_id),
            )

    def set_reward(self, edit_id: int, reward: float, damage: float) -> SelfEdit:
        """Store a reward-filter trial's result on a self-edit."""
        with self._c.write() as conn:
            self._c.change(
                conn,
                "self-edit",
                "UPDATE self_edits SET reward = ?, damage = ? WHERE id = ?",
                (float(reward), float(damage), edit_id),
            )
        return self._self_edit(edit_id)

    def updates(self, session_id: int) -> list[Update]:
        found = self._c.all("SELECT * FROM updates WHERE session_id = ? ORDER BY version", (session_id,))
        return [rows.update(r) for r in found]

    def update_for_version(self, session_id: int, version: int) -> Update | None:
        row = self._c.one("SELECT * FROM updates WHERE session_id = ? AND version = ?", (session_id, version))
        return rows.update(row) if row else None

    # -- scores -----------------------------------------------------------------------

    def add_scores(self, session_id: int, scores: list[Score]) -> None:
        """Insert or replace scores; each probe must belong to the score's passage in this session."""
        with self._c.write() as conn:
            owners = dict(
                conn.execute(
                    "SELECT pr.id, pr.passage_id FROM probes pr JOIN passages pa ON pa.id = pr.passage_id"
                    " WHERE pa.session_id = ?",
                    (session_id,),
                ).fetchall()
            )
            for s in scores:
                if owners.get(s.probe_id) != s.passage_id:
                    raise StoreError(f"probe {s.probe_id} is not a probe of passage {s.passage_id} in this session")
                if math.isnan(s.answer_nll):
                    raise StoreError(f"answer_nll of probe {s.probe_id} at version {s.version} is NaN")
                conn.execute(
                    _UPSERT_SCORE,
                    (session_id, s.version, s.probe_id, s.passage_id, s.answer_nll, s.f1, s.contains, s.answer),
                )

    def scores(self, session_id: int, version: int | None = None) -> list[Score]:
        sql, params = "SELECT * FROM scores WHERE session_id = ?", [session_id]
        if version is not None:
            sql, params = sql + " AND version = ?", params + [version]
        return [rows.score(r) for r in self._c.all(sql + " ORDER BY version, passage_id, probe_id", params)]

    def add_drift(self, session_id: int, version: int, part: str, answer_nll: float) -> None:
        """A version's mean answer NLL on one half of the drift set."""
        if math.isnan(answer_nll):
            raise StoreError(f"drift {part} at version {version} is NaN")
        with self._c.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO drift_scores (session_id, version, part, answer_nll) VALUES (?, ?, ?, ?)",
                (session_id, version, part, answer_nll),
            )

    def drift(self, session_id: int) -> dict[int, dict[str, float]]:
        """version -> {part: mean answer NLL} of the drift set."""
        out: dict[int, dict[str, float]] = {}
        for r in self._c.all("SELECT * FROM drift_scores WHERE session_id = ?", (session_id,)):
            out.setdefault(r["version"], {})[r["part"]] = r["answer_nll"]
        return out

    def scored_versions(self, session_id: int) -> set[tuple[int, int]]:
        """(version, passage_id) pairs for which every probe of the passage has a score."""
        found = self._c.all(
            "SELECT s.version, s.passage_id FROM scores s WHERE s.session_id = ?"
            " GROUP BY s.version, s.passage_id"
            " HAVING COUNT(*) = (SELECT COUNT(*) FROM probes p WHERE p.passage_id = s.passage_id)",
            (session_id,),
        )
        return {(r["version"], r["passage_id"]) for r in found}
