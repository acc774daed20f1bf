"""The store: schema migrations, round trips, atomic writes, and what survives a crash."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from engine.domain import PaperDraft, Passage, PassageDraft, Score, SessionInfo, Update
from engine.store import Store, StoreError
from engine.store.migrations import migrations

ROOT = Path(__file__).resolve().parents[2]


def paper(sha: str = "a" * 64, n: int = 2, title: str = "Paper") -> PaperDraft:
    return PaperDraft(
        title=title,
        source=f"{title}.txt",
        sha256=sha,
        passages=tuple(PassageDraft(title=f"{title} part {i}", text=f"text {i} of {title}") for i in range(n)),
    )


def probes_for(n: int) -> list[list[tuple[str, str, str]]]:
    return [[("cloze", f"q{i}a", f"a{i}a"), ("given", f"q{i}b", f"a{i}b")] for i in range(n)]


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "seal.db")
    yield s
    s.close()


@pytest.fixture
def session(store) -> SessionInfo:
    return store.create_session("demo", {"strategy": "implications", "train": {"rank": 8}})


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


# -- opening and migrating ------------------------------------------------------------


def test_opening_creates_folder_applies_migrations_once_and_keeps_data(tmp_path):
    path = tmp_path / "deep" / "home" / "seal.db"
    store = Store(path)
    assert store.path == path and path.exists()
    store.create_session("one", {"a": 1})
    store.close()

    again = Store(str(path))
    assert [s.name for s in again.list_sessions()] == ["one"]
    assert migrations.pending(again.db) == []
    applied = [m.name for m in migrations.applied(again.db)]
    assert applied == [
        "m001_initial",
        "m002_paths_and_rewards",
        "m003_editor_rounds",
        "m004_probe_roles_and_drift",
        "m005_self_edit_original_text",
        "m006_self_edit_writer",
    ] and len(applied) == len(set(applied))
    assert again.db.journal_mode == "wal"
    assert again.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    again.close()


def test_store_works_as_context_manager(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.create_session("x", {})
    with Store(tmp_path / "s.db") as store:
        assert store.get_session("x") is not None


# -- sessions -------------------------------------------------------------------------


def test_session_round_trip(store, session):
    assert session.name == "demo" and session.current_version == 0
    assert session.config == {"strategy": "implications", "train": {"rank": 8}}
    assert session.created_at.endswith("+00:00")

    store.update_session_config(session.id, {"strategy": "rewrite"})
    got = store.get_session("demo")
    assert got.config == {"strategy": "rewrite"} and got.current_version == 0
    assert store.get_session("nope") is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a b",
        "x" * 65,
        "semi;colon",
        "slash/name",
        "ünï",
        ".",
        "..",
        ".hidden",
        "-flag",
        "seal.db",
        "SEAL.DB-wal",
        "con",
        "NUL.txt",
        "lpt1",
    ],
)
def test_invalid_session_names_are_refused(store, name):
    with pytest.raises(StoreError, match="name"):
        store.create_session(name, {})
    assert store.list_sessions() == []


def test_valid_session_names_and_duplicates(store):
    store.create_session("a-b_c.1", {})
    store.create_session("x" * 64, {})
    with pytest.raises(StoreError, match="differ only in case"):
        store.create_session("A-B_C.1", {})
    with pytest.raises(StoreError, match="already exists"):
        store.create_session("a-b_c.1", {})


def test_updates_to_missing_sessions_fail_loudly(store):
    with pytest.raises(StoreError, match="no session"):
        store.update_session_config(99, {})
    with pytest.raises(StoreError, match="no session"):
        store.add_paper(99, paper(), probes_for(2))


def test_list_sessions_counts_passages_and_updates(store):
    a = store.create_session("a", {})
    b = store.create_session("b", {})
    passages = store.add_paper(a.id, paper(n=3), probes_for(3))
    store.add_paper(b.id, paper(n=1), probes_for(1))
    store.add_update(a.id, passages[0].id, 1, {}, [1.0], "adapters/v1", 1.0, 4)
    got = {s.name: (s.passages, s.updates) for s in store.list_sessions()}
    assert got == {"a": (3, 1), "b": (1, 0)}
    assert store.get_session("a").passages == 3


# -- papers and passages --------------------------------------------------------------


def test_add_paper_stores_passages_with_probes(store, session):
    passages = store.add_paper(session.id, paper(n=2), probes_for(2))
    assert [p.position for p in passages] == [0, 1]
    assert all(isinstance(p, Passage) and p.status == "new" for p in passages)
    assert [(q.kind, q.question, q.answer) for q in passages[1].probes] == [
        ("cloze", "q1a", "a1a"),
        ("given", "q1b", "a1b"),
    ]
    assert all(q.passage_id == passages[1].id for q in passages[1].probes)
    assert store.passages(session.id) == passages
    assert store.passage(passages[0].id) == passages[0]


def test_positions_continue_across_papers(store, session):
    store.add_paper(session.id, paper("a" * 64, n=2, title="A"), probes_for(2))
    second = store.add_paper(session.id, paper("b" * 64, n=3, title="B"), probes_for(3))
    assert [p.position for p in second] == [2, 3, 4]
    assert [p.title for p in store.passages(session.id)] == ["A part 0", "A part 1", "B part 0", "B part 1", "B part 2"]
    # positions are per session
    other = store.create_session("other", {})
    assert [p.position for p in store.add_paper(other.id, paper(n=1), probes_for(1))] == [0]


def test_duplicate_paper_is_detected(store, session):
    assert store.find_paper(session.id, "a" * 64) is None
    first = store.add_paper(session.id, paper(), probes_for(2))
    assert store.find_paper(session.id, "a" * 64) == first[0].paper_id
    with pytest.raises(StoreError, match="already in the session"):
        store.add_paper(session.id, paper(title="Renamed"), probes_for(2))
    assert len(store.passages(session.id)) == 2
    # the same paper may be in another session
    other = store.create_session("other", {})
    assert store.find_paper(other.id, "a" * 64) is None
    store.add_paper(other.id, paper(), probes_for(2))


@pytest.mark.parametrize("bad", [("essay", "q", "a"), ("cloze", "q"), ("cloze", "q", None), "cloze"])
def test_add_paper_is_atomic_when_a_probe_is_bad(tmp_path, store, session, bad):
    store.add_paper(session.id, paper("b" * 64, n=1, title="Kept"), probes_for(1))
    probes = probes_for(3)
    probes[2].append(bad)  # the last probe of the last passage: everything before it was written
    with pytest.raises(StoreError):
        store.add_paper(session.id, paper(n=3), probes)
    assert store.find_paper(session.id, "a" * 64) is None
    assert [p.title for p in store.passages(session.id)] == ["Kept part 0"]
    path = tmp_path / "seal.db"
    assert (count(path, "papers"), count(path, "passages"), count(path, "probes")) == (1, 1, 2)
    # and the session goes on: the corrected paper lands right after
    assert [p.position for p in store.add_paper(session.id, paper(n=3), probes_for(3))] == [1, 2, 3]


def test_add_paper_checks_probe_list_length(store, session):
    with pytest.raises(StoreError, match="2 passages but probes for 1"):
        store.add_paper(session.id, paper(n=2), probes_for(1))


def test_passage_status(store, session):
    p = store.add_paper(session.id, paper(n=1), probes_for(1))[0]
    store.set_passage_status(p.id, "learned")
    assert store.passage(p.id).status == "learned"
    with pytest.raises(StoreError, match="passage status must be one of new, edits, learned"):
        store.set_passage_status(p.id, "done")
    with pytest.raises(StoreError, match="no passage"):
        store.set_passage_status(999, "new")
    with pytest.raises(StoreError, match="no passage"):
        store.passage(999)


# -- self-edits -----------------------------------------------------------------------


def test_self_edit_decisions(store, session):
    p = store.add_paper(session.id, paper(n=1), probes_for(1))[0]
    edit = store.add_self_edit(p.id, "implications", "The sky is blue.")
    assert (edit.status, edit.decided_by, edit.reason) == ("pending", None, "")

    accepted = store.decide_self_edit(edit.id, "accepted", "person", "looks right")
    assert (accepted.status, accepted.decided_by, accepted.reason) == ("accepted", "person", "looks right")
    assert store.decide_self_edit(edit.id, "accepted", "person", "looks right") == accepted  # idempotent
    edited = store.edit_self_edit_text(edit.id, "The sky is often blue.")
    assert edited.text == "The sky is often blue." and edited.status == "accepted"
    undone = store.decide_self_edit(edit.id, "pending", None)
    assert (undone.status, undone.decided_by) == ("pending", None)

    rejected = store.add_self_edit(p.id, "rewrite", "noise", "rejected", "heuristic", "too short")
    assert store.self_edits(p.id, "rejected") == [rejected]
    assert [e.id for e in store.self_edits(p.id)] == [edit.id, rejected.id]
    assert store.self_edits(p.id, "accepted") == []


def test_self_edit_values_are_checked(store, session):
    p = store.add_paper(session.id, paper(n=1), probes_for(1))[0]
    edit = store.add_self_edit(p.id, "implications", "x")
    with pytest.raises(StoreError, match="self-edit status must be one of"):
        store.decide_self_edit(edit.id, "maybe", "person")
    with pytest.raises(StoreError, match="decided_by must be one of"):
        store.decide_self_edit(edit.id, "accepted", None)
    with pytest.raises(StoreError, match="decided_by must be one of"):
        store.add_self_edit(p.id, "implications", "x", "accepted", "robot")
    with pytest.raises(StoreError, match="pending self-edit has no decider"):
        store.add_self_edit(p.id, "implications", "x", "pending", "person")
    with pytest.raises(StoreError, match="no self-edit"):
        store.decide_self_edit(999, "accepted", "person")
    with pytest.raises(StoreError, match="no self-edit"):
        store.edit_self_edit_text(999, "x")
    with pytest.raises(StoreError):
        store.add_self_edit(999, "implications", "x")  # no such passage: foreign key
    assert store.self_edits(p.id) == [edit]


# -- updates --------------------------------------------------------------------------


def test_add_update_sets_version_and_passage_status(store, session):
    p0, p1 = store.add_paper(session.id, paper(n=2), probes_for(2))
    update = store.add_update(session.id, p0.id, 1, {"lr": 1e-4, "rank": 8}, [2.5, 1.25], "adapters/v000001", 12.5, 10)
    assert update == Update(update.id, 1, p0.id, {"lr": 1e-4, "rank": 8}, (2.5, 1.25), "adapters/v000001", 12.5, 10)
    assert store.get_session("demo").current_version == 1
    assert store.passage(p0.id).status == "learned" and store.passage(p1.id).status == "new"

    second = store.add_update(session.id, p1.id, 2, {}, [1.0], "adapters/v000002", 3.0, 2)
    assert store.updates(session.id) == [update, second]
    assert store.update_for_version(session.id, 2) == second
    assert store.update_for_version(session.id, 7) is None
    assert store.get_session("demo").current_version == 2


def test_add_update_is_idempotent_but_refuses_a_clash(store, session):
    p0, p1 = store.add_paper(session.id, paper(n=2), probes_for(2))
    first = store.add_update(session.id, p0.id, 1, {}, [1.0], "v1", 1.0, 1)
    assert store.add_update(session.id, p0.id, 1, {}, [1.0], "v1", 1.0, 1) == first
    with pytest.raises(StoreError, match="version 1 of this session already exists"):
        store.add_update(session.id, p1.id, 1, {}, [1.0], "v1b", 1.0, 1)
    assert store.updates(session.id) == [first]
    assert store.passage(p1.id).status == "new"


def test_add_update_refuses_a_passage_of_another_session(store, session):
    other = store.create_session("other", {})
    foreign = store.add_paper(other.id, paper(n=1), probes_for(1))[0]
    with pytest.raises(StoreError, match="no passage"):
        store.add_update(session.id, foreign.id, 1, {}, [], "v1", 1.0, 1)
    assert store.get_session("demo").current_version == 0
    assert store.passage(foreign.id).status == "new"


# -- scores ---------------------------------------------------------------------------


def test_scores_upsert_and_filter(store, session):
    p0, p1 = store.add_paper(session.id, paper(n=2), probes_for(2))
    a, b = p0.probes
    store.add_scores(
        session.id, [Score(0, a.id, p0.id, 2.0), Score(0, b.id, p0.id, 3.0, f1=0.5, contains=1.0, answer="blue")]
    )
    store.add_scores(session.id, [Score(0, a.id, p0.id, 1.5, f1=0.25), Score(1, a.id, p0.id, 0.5)])
    got = store.scores(session.id, 0)
    assert got == [Score(0, a.id, p0.id, 1.5, f1=0.25), Score(0, b.id, p0.id, 3.0, 0.5, 1.0, "blue")]
    assert len(store.scores(session.id)) == 3
    assert store.scores(session.id, 1) == [Score(1, a.id, p0.id, 0.5)]


def test_scored_versions_need_every_probe(store, session):
    p0, p1 = store.add_paper(session.id, paper(n=2), probes_for(2))
    store.add_scores(session.id, [Score(0, q.id, p0.id, 1.0) for q in p0.probes])
    store.add_scores(session.id, [Score(0, p1.probes[0].id, p1.id, 1.0)])
    store.add_scores(session.id, [Score(1, q.id, p1.id, 1.0) for q in p1.probes])
    assert store.scored_versions(session.id) == {(0, p0.id), (1, p1.id)}
    other = store.create_session("other", {})
    assert store.scored_versions(other.id) == set()


def test_scores_refuse_a_probe_of_another_passage_or_session(store, session):
    p0, p1 = store.add_paper(session.id, paper(n=2), probes_for(2))
    other = store.create_session("other", {})
    foreign = store.add_paper(other.id, paper(n=1), probes_for(1))[0]
    good = Score(0, p0.probes[0].id, p0.id, 1.0)
    with pytest.raises(StoreError, match="not a probe of passage"):
        store.add_scores(session.id, [good, Score(0, p0.probes[1].id, p1.id, 1.0)])
    with pytest.raises(StoreError, match="not a probe of passage"):
        store.add_scores(session.id, [Score(0, foreign.probes[0].id, foreign.id, 1.0)])
    with pytest.raises(StoreError, match="NaN"):
        store.add_scores(session.id, [good, Score(0, p0.probes[1].id, p0.id, float("nan"))])
    assert store.scores(session.id) == []


# -- crashes and other connections ----------------------------------------------------


def test_an_interrupt_inside_a_write_rolls_back_the_whole_step(store, session, monkeypatch):
    p = store.add_paper(session.id, paper(n=1), probes_for(1))[0]
    # ctrl-c lands after the update row is inserted, inside the transaction
    real_execute_calls = []
    conn = store.db.conn

    class Exploding:
        def __init__(self, inner):
            self.inner = inner

        def execute(self, sql, *args):
            real_execute_calls.append(sql)
            if sql.startswith("UPDATE passages SET status = 'learned'"):
                raise KeyboardInterrupt
            return self.inner.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(store.db, "conn", Exploding(conn))
    with pytest.raises(KeyboardInterrupt):
        store.add_update(session.id, p.id, 1, {}, [1.0], "v1", 1.0, 1)
    monkeypatch.setattr(store.db, "conn", conn)
    assert any(sql.startswith("INSERT INTO updates") for sql in real_execute_calls)
    assert store.updates(session.id) == []
    assert store.get_session("demo").current_version == 0
    assert store.passage(p.id).status == "new"
    # and the store still works
    store.add_update(session.id, p.id, 1, {}, [1.0], "v1", 1.0, 1)
    assert store.get_session("demo").current_version == 1


def test_a_killed_process_loses_only_the_step_in_flight(tmp_path):
    path = tmp_path / "seal.db"
    script = textwrap.dedent(f"""
        import os
        from engine.domain import PaperDraft, PassageDraft
        from engine.store import Store
        store = Store({str(path)!r})
        s = store.create_session("demo", {{}})
        store.add_paper(s.id, PaperDraft("A", "a.txt", "a" * 64, (PassageDraft("t", "x"),)), [[("cloze", "q", "a")]])
        conn = store.db.conn
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO papers (session_id, title, source, sha256, created_at) VALUES (?, 'B', 'b', ?, 'now')",
            (s.id, "b" * 64),
        )
        conn.execute("UPDATE sessions SET current_version = 5")
        os._exit(9)  # killed mid-transaction: no commit, no close
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 9, done.stderr

    store = Store(path)
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    session = store.get_session("demo")
    assert session.current_version == 0 and session.passages == 1
    assert store.find_paper(session.id, "b" * 64) is None
    assert store.find_paper(session.id, "a" * 64) is not None
    store.close()


def test_a_second_connection_sees_committed_writes_only(tmp_path, store, session):
    reader = Store(tmp_path / "seal.db")
    p = store.add_paper(session.id, paper(n=1), probes_for(1))[0]
    assert reader.passages(session.id) == [p]
    # a write in flight on one connection is invisible to the other, and does not block its reads
    store.db.conn.execute("BEGIN IMMEDIATE")
    store.db.conn.execute("UPDATE passages SET status = 'learned'")
    assert reader.passage(p.id).status == "new"
    store.db.conn.rollback()
    assert reader.passage(p.id).status == "new"
    reader.close()


def test_one_store_can_be_shared_by_threads(store, session):
    p = store.add_paper(session.id, paper(n=1), probes_for(1))[0]
    errors = []

    def worker(n):
        try:
            for i in range(20):
                store.add_self_edit(p.id, "implications", f"{n}-{i}")
                store.self_edits(p.id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(store.self_edits(p.id)) == 80


def test_m002_gives_existing_updates_their_parent_version(tmp_path):
    """A database made before m002 gets linear parents for its updates."""
    from sqlite_utils import Database

    from engine.store.migrations import migrations

    path = tmp_path / "old.db"
    db = Database(path)
    migrations.apply(db, stop_before="m002_paths_and_rewards")
    db.execute("INSERT INTO sessions (id, name, created_at) VALUES (1, 's', 'now')")
    db.execute(
        "INSERT INTO papers (id, session_id, title, source, sha256, created_at) VALUES (1, 1, 't', 'x', 'h', 'now')"
    )
    db.execute("INSERT INTO passages (id, session_id, paper_id, position, title, text) VALUES (1, 1, 1, 0, 't', 'x')")
    for v in (1, 2):
        db.execute(
            "INSERT INTO updates (session_id, passage_id, version, params, losses, adapter_path, seconds,"
            " examples, created_at) VALUES (1, 1, ?, '{}', '[]', 'a', 0, 0, 'now')",
            (v,),
        )
    db.conn.commit()
    db.close()
    store = Store(path)
    assert [(u.version, u.parent_version, u.status) for u in store.updates(1)] == [(1, 0, "active"), (2, 1, "active")]
