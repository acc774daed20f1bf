"""Edited candidates keep the model's text (migration m005), passages of one paper are told
apart by their titles, and cloze blanks are meaningful spans."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database

from engine.config import GenerationConfig, SessionConfig, TrainConfig
from engine.domain import PaperDraft, PassageDraft, Probe
from engine.papers.ingest import paper_from_text, read_paper
from engine.papers.passages import passage_titles
from engine.papers.probes import cloze_probes, kinds_label, kinds_made
from engine.sessions.home import Home
from engine.store import Store
from engine.store.migrations import migrations
from tools.scripted_runtime import FakeRuntime

# -- an edit keeps the model's text ----------------------------------------------------------


def old_database(path) -> None:
    """A database as a release before m005 left it: one self-edit decided by a person."""
    db = Database(path)
    migrations.apply(db, stop_before="m005_self_edit_original_text")
    db.execute("INSERT INTO sessions (id, name, created_at) VALUES (1, 's', 'now')")
    db.execute(
        "INSERT INTO papers (id, session_id, title, source, sha256, created_at) VALUES (1, 1, 't', 'x', 'h', 'now')"
    )
    db.execute("INSERT INTO passages (id, session_id, paper_id, position, title, text) VALUES (1, 1, 1, 0, 't', 'x')")
    db.execute(
        "INSERT INTO self_edits (id, passage_id, strategy, text, status, decided_by, reason, created_at,"
        " decided_at, reward, damage, editor_round) VALUES"
        " (7, 1, 'implications', 'Quenby is cold.', 'rejected', 'person', 'vague', 'now', 'now', 0.5, 0.1, 2)"
    )
    db.conn.commit()
    db.close()


def test_m005_gives_an_old_database_the_column_with_nulls_and_loses_nothing(tmp_path):
    path = tmp_path / "old.db"
    old_database(path)
    with Store(path) as store:
        assert migrations.pending(store.db) == []
        [edit] = store.self_edits(1)
    assert (edit.id, edit.strategy, edit.text, edit.status, edit.decided_by, edit.reason) == (
        7,
        "implications",
        "Quenby is cold.",
        "rejected",
        "person",
        "vague",
    )
    assert (edit.reward, edit.damage, edit.editor_round) == (0.5, 0.1, 2)
    assert edit.original_text is None and not edit.edited
    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(self_edits)")]
    assert "original_text" in columns


def test_the_first_edit_keeps_the_models_text_and_later_ones_leave_it(tmp_path):
    with Store(tmp_path / "seal.db") as store:
        session = store.create_session("demo", {})
        draft = PaperDraft("P", "p.txt", "a" * 64, (PassageDraft("P", "text"),))
        [passage] = store.add_paper(session.id, draft, [[("cloze", "q", "a")]])
        edit = store.add_self_edit(passage.id, "implications", "The sky is blue.")
        assert store.edit_self_edit_text(edit.id, "The sky is blue.").original_text is None  # no change
        once = store.edit_self_edit_text(edit.id, "The sky is often blue.")
        assert (once.text, once.original_text, once.edited) == ("The sky is often blue.", "The sky is blue.", True)
        twice = store.edit_self_edit_text(edit.id, "The sky is mostly blue.")
        assert (twice.text, twice.original_text) == ("The sky is mostly blue.", "The sky is blue.")
        back = store.edit_self_edit_text(edit.id, "The sky is blue.")
        assert back.original_text == "The sky is blue." and not back.edited


def test_the_edited_text_trains_and_a_persons_reason_is_kept_on_one_line(fixtures):
    runtime = FakeRuntime()
    config = SessionConfig(generation=GenerationConfig(candidates=2), train=TrainConfig(epochs=2))
    session = Home().open("demo", config, runtime)
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    first, second = session.generate(passage)
    rejected = session.decide(first.id, False, "  invents\na date ")
    assert (rejected.status, rejected.decided_by, rejected.reason) == ("rejected", "person", "invents a date")
    edited = session.edit_text(second.id, "  Quenby has nineteen-hour winter nights. ")
    assert edited.text == "Quenby has nineteen-hour winter nights." and edited.original_text == second.text
    session.decide(second.id, True)
    session.learn(passage)
    assert runtime.trained[0][0] == f"{passage.title}\nQuenby has nineteen-hour winter nights."


# -- passages told apart ------------------------------------------------------------------------

HARROW = """# The Harrow

The Harrow is a river that runs through Dunmere and out to the sea. It was dredged in 1880 by the town council.

Rowing clubs use the Dunmere end of the river. Today the Dunmere end is used by rowing clubs from three counties.

The river freezes in hard winters, when skaters go out from Holm Bridge to the weir.
"""


def test_passages_of_a_markdown_paper_without_sections_are_numbered(tmp_path):
    (tmp_path / "harrow.md").write_text(HARROW)
    [paper] = read_paper(tmp_path / "harrow.md", passage_tokens=40)
    assert paper.title == "The Harrow"
    assert [p.title for p in paper.passages] == ["The Harrow · 1/3", "The Harrow · 2/3", "The Harrow · 3/3"]
    [whole] = read_paper(tmp_path / "harrow.md")  # one passage keeps the paper's title
    assert [p.title for p in whole.passages] == ["The Harrow"]


def test_passages_take_their_nearest_markdown_heading(tmp_path):
    md = HARROW.replace("Rowing clubs", "## Rowing\n\nRowing clubs").replace(
        "The river freezes", "Winter on *the* river\n---------------------\n\nThe river freezes"
    )
    (tmp_path / "harrow.md").write_text(md)
    [paper] = read_paper(tmp_path / "harrow.md", passage_tokens=40)
    assert [p.title for p in paper.passages] == [
        "The Harrow · 1/3",
        "The Harrow · Rowing",
        "The Harrow · Winter on the river",
    ]
    assert "Rowing" in paper.passages[1].text  # headings stay in the text that trains
    [small] = read_paper(tmp_path / "harrow.md", passage_tokens=20)
    titles = [p.title for p in small.passages]
    assert len(set(titles)) == len(titles)
    assert "The Harrow · Rowing (1/2)" in titles and "The Harrow · Rowing (2/2)" in titles


def test_titles_do_not_change_the_papers_hash(tmp_path):
    (tmp_path / "a.md").write_text(HARROW)
    (tmp_path / "b.md").write_text(HARROW.replace("Rowing clubs", "## Rowing\n\nRowing clubs"))
    one = read_paper(tmp_path / "a.md", passage_tokens=40)[0]
    assert one.sha256 == read_paper(tmp_path / "a.md")[0].sha256  # the passage size does not count
    assert one.sha256 != read_paper(tmp_path / "b.md", passage_tokens=40)[0].sha256  # new words do


def test_plain_text_headings_and_pasted_text():
    text = "Notes\n\nIntro text here is long enough to fill a passage.\n\nMethods\n\nWe did things."
    paper = paper_from_text(text, passage_tokens=14)
    assert paper.title == "Notes"
    assert [p.title for p in paper.passages][-1] == "Notes · Methods"
    assert paper_from_text("Orrin holds scrolls. It was built in 1402.", title="Orrin").passages[0].title == "Orrin"


def test_passage_titles_directly():
    assert passage_titles("T", ["a b", "c d"], []) == ["T · 1/2", "T · 2/2"]
    assert passage_titles("T", ["a b", "c d"], [(2, "T")]) == ["T · 1/2", "T · 2/2"]  # the title is no section
    assert passage_titles("T", ["a b", "c d"], [(0, "History of T")]) == ["History of T (1/2)", "History of T (2/2)"]


def test_the_part_number_does_not_hide_a_number_from_the_cloze_picker():
    assert [a for _, a in cloze_probes("The Harrow · 2/3", "It has 2 locks.")] == ["2"]
    answers = [a for _, a in cloze_probes("Apollo 11", "Apollo 11 landed in July. It carried 3 men.")]
    assert "11" not in answers and "3" in answers  # a number of the topic itself stays unblanked


# -- probe kinds as made ------------------------------------------------------------------------


def probe(kind: str, role: str = "heldout") -> Probe:
    return Probe(0, 1, kind, "q", "a", role)


def test_the_probe_kinds_shown_are_the_kinds_made():
    assert kinds_made([probe("cloze"), probe("given"), probe("qa", "reward")]) == ["given", "cloze"]
    assert kinds_label("given", []) == "given"  # nothing made yet: the setting
    assert kinds_label("given", [probe("given"), probe("cloze", "reward")]) == "given"
    assert kinds_label("given", [probe("cloze")]) == "cloze (no given questions)"
    assert kinds_label("given", [probe("given"), probe("cloze")]) == "given+cloze"
    assert kinds_label("qa", [probe("cloze"), probe("qa")]) == "cloze+qa"
    assert kinds_label("cloze", [probe("cloze")]) == "cloze"


# -- cloze blanks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence, answer",
    [
        ("Today the Dunmere end is used by rowing clubs.", "Dunmere"),
        ("Rowing clubs use the Dunmere end of the river.", "Dunmere"),
        ("When Harrow Bridge opened, crowds came.", "Harrow Bridge"),
        ("Historically Holm Bridge was a ford.", "Holm Bridge"),
        ("However Dunmere Rowing Club trains here.", "Dunmere Rowing Club"),
        ("Most of Europe was dry that year.", "Europe"),
        ("After The Hague Convention, trade grew.", "Hague Convention"),
        ("Bank of England notes were printed here.", "Bank of England"),
        ("The brothers Pell and Corin Vask built it.", "Pell and Corin Vask"),
    ],
)
def test_a_cloze_blank_is_a_name_inside_the_sentence_not_its_opening_words(sentence, answer):
    [(question, got)] = cloze_probes("Notes", sentence, limit=1)
    assert got == answer
    assert question == f"Fill in the blank: {sentence.replace(answer, '____', 1)}"


def test_the_dunmere_passage_gets_no_clause_spanning_blank():
    text = (
        "The Harrow is a river that runs through Dunmere. Today the Dunmere end is used by rowing clubs. "
        "The Dunmere Regatta is held every June."
    )
    answers = [a for _, a in cloze_probes("The Harrow · 2/3", text, limit=6)]
    assert not any(a.startswith(("Today", "The ")) for a in answers), answers
    assert "Dunmere Regatta" in answers
