"""The store's schema, as numbered migrations applied in order by sqlite_utils.Migrations.

Never edit a migration once it has been released: databases in the wild have already
applied it and will not run it again. To change the schema, only ADD a new function
below (m002_..., m003_...) and the next Store() opening each database will apply it.

Vocabularies (passage status, probe kind, ...) are checked in Python (rows.py), not with
CHECK constraints, so a new value needs no table rebuild.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

from engine.faults import crash_point

migrations = Migrations("seal")


def _run(db: Database, *statements: str) -> None:
    # One execute per statement: executescript() would commit the migration's transaction.
    for sql in statements:
        db.execute(sql)
        crash_point("migration")


@migrations()
def m001_initial(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            config TEXT NOT NULL DEFAULT '{}',
            current_version INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE papers (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            title TEXT NOT NULL,
            source TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (session_id, sha256)
        )
        """,
        """
        CREATE TABLE passages (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            paper_id INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            title TEXT NOT NULL,
            text TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'new',
            UNIQUE (session_id, position)
        )
        """,
        "CREATE INDEX passages_paper ON passages(paper_id)",
        """
        CREATE TABLE probes (
            id INTEGER PRIMARY KEY,
            passage_id INTEGER NOT NULL REFERENCES passages(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL
        )
        """,
        "CREATE INDEX probes_passage ON probes(passage_id)",
        """
        CREATE TABLE self_edits (
            id INTEGER PRIMARY KEY,
            passage_id INTEGER NOT NULL REFERENCES passages(id) ON DELETE CASCADE,
            strategy TEXT NOT NULL,
            text TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            decided_by TEXT,
            reason TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            decided_at TEXT
        )
        """,
        "CREATE INDEX self_edits_passage ON self_edits(passage_id)",
        """
        CREATE TABLE updates (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            passage_id INTEGER NOT NULL REFERENCES passages(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            losses TEXT NOT NULL DEFAULT '[]',
            adapter_path TEXT NOT NULL,
            seconds REAL NOT NULL DEFAULT 0,
            examples INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'active',
            created_at TEXT NOT NULL,
            UNIQUE (session_id, version)
        )
        """,
        "CREATE INDEX updates_passage ON updates(passage_id)",
        """
        CREATE TABLE scores (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            probe_id INTEGER NOT NULL REFERENCES probes(id) ON DELETE CASCADE,
            passage_id INTEGER NOT NULL REFERENCES passages(id) ON DELETE CASCADE,
            answer_nll REAL NOT NULL,
            f1 REAL,
            "contains" REAL,
            answer TEXT,
            PRIMARY KEY (session_id, version, probe_id)
        )
        """,
        "CREATE INDEX scores_probe ON scores(probe_id)",
        "CREATE INDEX scores_passage ON scores(passage_id)",
    )


@migrations()
def m002_paths_and_rewards(db: Database) -> None:
    """Rollback needs each update's parent version; the reward filter stores its scores."""
    _run(
        db,
        "ALTER TABLE updates ADD COLUMN parent_version INTEGER",
        "UPDATE updates SET parent_version = version - 1",
        "ALTER TABLE self_edits ADD COLUMN reward REAL",
        "ALTER TABLE self_edits ADD COLUMN damage REAL",
    )


@migrations()
def m003_editor_rounds(db: Database) -> None:
    """The self-improving editor: its training rounds, and which round wrote each self-edit."""
    _run(
        db,
        """
        CREATE TABLE editor_rounds (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            trigger TEXT NOT NULL,
            edit_ids TEXT NOT NULL DEFAULT '[]',
            params TEXT NOT NULL DEFAULT '{}',
            losses TEXT NOT NULL DEFAULT '[]',
            adapter_path TEXT NOT NULL,
            seconds REAL NOT NULL DEFAULT 0,
            learned_passages INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            UNIQUE (session_id, number)
        )
        """,
        "ALTER TABLE self_edits ADD COLUMN editor_round INTEGER",
    )


@migrations()
def m004_probe_roles_and_drift(db: Database) -> None:
    """Each probe's fixed role (reward: the filter and training checks may read it; heldout:
    only reports do), and every version's score on the shipped drift set. Probes stored
    before get the roles a new passage gets: three or more alternate, the first held out."""
    _run(
        db,
        "ALTER TABLE probes ADD COLUMN role TEXT NOT NULL DEFAULT 'heldout'",
        """
        UPDATE probes SET role = 'reward' WHERE id IN (
            SELECT id FROM (
                SELECT id, ROW_NUMBER() OVER (PARTITION BY passage_id ORDER BY id) - 1 AS k,
                       COUNT(*) OVER (PARTITION BY passage_id) AS n
                FROM probes)
            WHERE n >= 3 AND k % 2 = 1)
        """,
        """
        CREATE TABLE drift_scores (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            part TEXT NOT NULL,
            answer_nll REAL NOT NULL,
            PRIMARY KEY (session_id, version, part)
        )
        """,
    )


@migrations()
def m005_self_edit_original_text(db: Database) -> None:
    """A person's edit keeps the model's own text: original_text is set on the first edit
    (NULL: never edited), and `text` stays what trains."""
    _run(db, "ALTER TABLE self_edits ADD COLUMN original_text TEXT")


@migrations()
def m006_self_edit_writer(db: Database) -> None:
    """Who wrote each self-edit: the local model and its version, a served model, or the file
    it was imported from (NULL: written before this was recorded)."""
    _run(db, "ALTER TABLE self_edits ADD COLUMN writer TEXT")
