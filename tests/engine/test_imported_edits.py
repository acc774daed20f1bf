"""Self-edits from a SEAL-format file: the loader's checks, matching, and the session taking
them instead of sampling (fast, scripted runtime)."""

import json

import pytest

from engine import events as ev
from engine.config import GenerationConfig, SessionConfig, TrainConfig
from engine.papers.ingest import read_paper
from engine.selfedits.imported_edits import MAX_BYTES, ImportedEditsError, load_edits
from engine.sessions.home import Home
from tools.scripted_runtime import CANNED, FakeRuntime

FIRST = (
    "The Velmora Observatory was founded in 1873 by the astronomer Ilse Narrowgate on the island of "
    "Quenby, in the cold northern sea."
)
WRITTEN = [
    "1. Narrowgate picked Quenby for its nineteen-hour winter nights.\n2. The Kettle was the first building.",
    "Ilse Narrowgate sold the family salt works in Askel to pay for the land.",
    "The observatory's logbook of 2,140 clear nights is kept in the island library.",
]


def write(tmp_path, data, name="edits.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def entry(context, completions, title="The Velmora Observatory"):
    return {"title": title, "context": context, "questions": [], "completions": completions}


BAD = {
    "not JSON": ('[{"context": "x", ', "not JSON (line 1, column"),
    "not a list": ({"context": "x", "completions": ["y"]}, "expected a JSON list"),
    "entry not an object": (["just text"], "entry 1: must be an object"),
    "context missing": ([{"completions": ["y"]}], "entry 1: 'context' must be a string"),
    "context not text": ([{"context": 3, "completions": ["y"]}], "entry 1: 'context' must be a string"),
    "completions missing": ([entry("a", ["b"]), {"context": "x"}], "entry 2: 'completions' must be a list of strings"),
    "completions not strings": ([{"context": "x", "completions": ["y", 2]}], "'completions' must be a list of strings"),
    "no completions anywhere": ([entry("a", []), entry("b", ["  "])], "no entry has any completions"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_file_is_refused_in_one_line_naming_the_problem(case, tmp_path):
    data, message = BAD[case]
    path = write(tmp_path, data)
    with pytest.raises(ImportedEditsError) as caught:
        load_edits(path)
    text = str(caught.value)
    assert message in text and str(path) in text and "\n" not in text
    assert isinstance(caught.value, ValueError)


def test_missing_file_and_folder_and_oversized_file(tmp_path):
    with pytest.raises(ImportedEditsError, match="no such file"):
        load_edits(tmp_path / "gone.json")
    with pytest.raises(ImportedEditsError, match="not a file"):
        load_edits(tmp_path)
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: no 50 MB written
    with pytest.raises(ImportedEditsError, match="over the 50 MB limit"):
        load_edits(big)


def test_passages_match_on_normalised_text_or_as_a_piece_of_a_context(tmp_path):
    long_context = "First part of a long context.\n\nSecond   part, cut off by ingest."
    path = write(
        tmp_path,
        [
            entry("  The Kettle  steamed\non frosty mornings. ", ["kettle 1", "", "kettle 2"]),
            entry("Nothing was written here.", []),
            entry(long_context, ["long 1"], title="Long"),
            entry("The Kettle steamed on frosty mornings.", ["other title"], title="Other"),
        ],
    )
    edits = load_edits(path)
    assert len(edits) == 4 and edits.with_completions == 3
    assert edits.for_passage("Any", "The Kettle steamed on frosty mornings.") == ["kettle 1", "kettle 2"]
    assert edits.for_passage("Other", "The Kettle steamed on frosty mornings.") == ["other title"]
    assert edits.for_passage("Long", "Second part, cut off by ingest.") == ["long 1"]
    assert edits.for_passage("Any", "the kettle steamed on frosty mornings.") == []  # case-sensitive
    assert edits.for_passage("Any", "Nothing was written here.") == []
    assert edits.for_passage("Any", "   ") == []


def open_session(tmp_path, fixtures, runtime, **generation):
    passages = read_paper(fixtures / "velmora.md")[0].passages
    path = write(tmp_path, [entry(passages[0].text, WRITTEN)])
    config = SessionConfig(
        generation=GenerationConfig(candidates=2, edits_from=str(path), **generation),
        train=TrainConfig(epochs=2),
        accept="all",
    )
    session = Home().open("imports", config, runtime)
    return session, session.add_paper(read_paper(fixtures / "velmora.md")[0]), path


def test_a_passage_in_the_file_takes_its_completions_and_the_others_the_models(tmp_path, fixtures):
    runtime = FakeRuntime()
    session, passages, path = open_session(tmp_path, fixtures, runtime)
    assert passages[0].text.startswith(FIRST)
    seen = []
    made = session.generate(passages[0], seen.append)
    assert [(e.strategy, e.text) for e in made] == [("imported", WRITTEN[0]), ("imported", WRITTEN[1])]
    assert runtime.seeds == []  # the model wrote nothing
    assert session.store.passage(passages[0].id).status == "edits"
    stages = [e.detail for e in seen if isinstance(e, ev.Stage)]
    assert stages == [f"2 self-edits from {path.name}"]
    assert [(e.index, e.text) for e in seen if isinstance(e, ev.Token)] == [(0, WRITTEN[0]), (1, WRITTEN[1])]
    assert [(e.index, e.edit_id) for e in seen if isinstance(e, ev.CandidateDone)] == [(0, made[0].id), (1, made[1].id)]

    more = session.generate(passages[0], count=2)  # continues in file order, then the file runs out
    assert [e.text for e in more] == [WRITTEN[2]]
    seen.clear()
    last = session.generate(passages[0], seen.append, count=1)
    assert [e.strategy for e in last] == ["implications"] and len(runtime.seeds) == 1
    assert any("the 3 self-edits in edits.json are used" in e.detail for e in seen if isinstance(e, ev.Stage))

    seen.clear()
    other = session.generate(passages[1], seen.append)
    assert [e.strategy for e in other] == ["implications", "implications"]
    assert other[0].text == CANNED.strip()
    assert any("passage not in edits.json" in e.detail for e in seen if isinstance(e, ev.Stage))


def test_imported_edits_are_gated_and_trained_on_one_line_each(tmp_path, fixtures):
    runtime = FakeRuntime()
    session, passages, _ = open_session(tmp_path, fixtures, runtime)
    session.step(passages[0])
    verdicts = session.verdicts(passages[0])
    assert len(verdicts) == 2 and all(v.ok for v in verdicts.values())
    examples = runtime.trained[0]
    title = passages[0].title
    assert f"{title}\nNarrowgate picked Quenby for its nineteen-hour winter nights." in examples
    assert f"{title}\nThe Kettle was the first building." in examples
    assert f"{title}\n{WRITTEN[1]}" in examples and examples[-1] == f"{title}\n{passages[0].text}"
    assert session.strategy_stats()["imported"]["accepted"] == 2


def test_the_file_is_read_once_per_session(tmp_path, fixtures):
    session, passages, path = open_session(tmp_path, fixtures, FakeRuntime())
    session.generate(passages[0])
    path.unlink()
    assert [e.strategy for e in session.generate(passages[1])] == ["implications", "implications"]
