"""Input limits: passages per paper, PDF text, JSON nesting; and the max_passages setting."""

from __future__ import annotations

import json

import pytest

from engine.config import ConfigError, SessionConfig
from engine.papers import ingest, paper_formats
from engine.papers.ingest import IngestError, paper_from_text, read_paper
from engine.selfedits.imported_edits import ImportedEditsError, load_edits
from engine.selfedits.selfedit import StrategyError, load_strategies
from tests.engine.test_ingest import make_pdf, prose

DEEP = "[" * 100_000 + "]" * 100_000


def paragraphs(n: int) -> str:
    """n paragraphs of about 26 estimated tokens each: one passage each at a 32-token budget."""
    return "\n\n".join(prose(2, words=10, seed=i) for i in range(n))


# --- passages per paper ------------------------------------------------------------------


def test_a_paper_over_the_default_limit_is_refused_with_the_count_and_the_way_out():
    with pytest.raises(IngestError) as info:
        paper_from_text(paragraphs(ingest.MAX_PASSAGES + 1), "Big", passage_tokens=32)
    err = str(info.value)
    assert err.startswith("pasted text: splits into 501 passages; the limit is 500 passages per paper")
    assert "--max-passages N" in err and "\n" not in err


def test_the_limit_is_inclusive_and_can_be_raised():
    assert len(paper_from_text(paragraphs(5), "Five", passage_tokens=32, max_passages=5).passages) == 5
    with pytest.raises(IngestError, match="splits into 6 passages; the limit is 5 passages"):
        paper_from_text(paragraphs(6), "Six", passage_tokens=32, max_passages=5)
    assert len(paper_from_text(paragraphs(6), "Six", passage_tokens=32, max_passages=6).passages) == 6


def test_a_text_file_over_the_limit_names_the_file(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("Long Title\n\n" + paragraphs(12))
    with pytest.raises(IngestError) as info:
        read_paper(path, passage_tokens=32, max_passages=10)
    assert str(info.value).startswith(f"{path}: splits into 12 passages; the limit is 10")


def test_a_limit_below_one_is_a_programming_error():
    with pytest.raises(ValueError):
        paper_from_text(prose(3), max_passages=0)


def squad(entries: list[tuple[str, str]]) -> str:
    return json.dumps([{"title": t, "context": c, "questions": []} for t, c in entries])


def test_a_json_paper_with_too_many_entries_is_refused_before_splitting(tmp_path, monkeypatch):
    path = tmp_path / "many.json"
    path.write_text(squad([("Same", prose(2, seed=i)) for i in range(7)]))
    monkeypatch.setattr(ingest, "split_passages", lambda *a: pytest.fail("split before the count was checked"))
    with pytest.raises(IngestError, match="paper 'Same' has 7 entries; the limit is 5 passages per paper"):
        read_paper(path, max_passages=5)


def test_a_json_paper_whose_contexts_split_past_the_limit_is_refused(tmp_path):
    path = tmp_path / "long.json"
    path.write_text(squad([("Long", paragraphs(4)), ("Long", paragraphs(4))]))
    with pytest.raises(IngestError, match="paper 'Long' splits into 8 passages; the limit is 6"):
        read_paper(path, passage_tokens=32, max_passages=6)


def test_the_json_limit_is_per_paper_not_per_file(tmp_path):
    path = tmp_path / "titles.json"
    path.write_text(squad([(f"Paper {i}", prose(2, seed=i)) for i in range(8)]))
    assert len(read_paper(path, max_passages=1)) == 8


# --- PDF text ----------------------------------------------------------------------------


def test_pdf_text_over_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(paper_formats, "MAX_PDF_CHARS", 100)
    path = tmp_path / "big.pdf"
    path.write_bytes(make_pdf([["A first page of some text here."], ["x " * 60], ["A third page."]]))
    with pytest.raises(IngestError) as info:
        read_paper(path)
    assert str(info.value).startswith(f"{path}: more than 100 characters of text by page 2 of 3")


def test_pdf_extraction_stops_at_the_page_that_passes_the_limit(monkeypatch):
    monkeypatch.setattr(paper_formats, "MAX_PDF_CHARS", 10)
    read = []

    class Page:
        def __init__(self, n):
            self.n = n

        def extract_text(self):
            read.append(self.n)
            return "abcdefgh"

    with pytest.raises(IngestError, match="by page 2 of 5"):
        paper_formats._pages_text("x.pdf", [Page(n) for n in range(5)])
    assert read == [0, 1]


# --- JSON that the parser cannot take ----------------------------------------------------


@pytest.mark.parametrize("text, message", [(DEEP, "JSON nested too deeply"), ("[" + "1" * 5000 + "]", "invalid JSON")])
def test_json_papers_the_parser_cannot_take_are_ingest_errors(tmp_path, text, message):
    path = tmp_path / "odd.json"
    path.write_text(text)
    with pytest.raises(IngestError, match=message):
        read_paper(path)


def test_deep_json_edits_file_is_an_imported_edits_error(tmp_path):
    path = tmp_path / "edits.json"
    path.write_text(DEEP)
    with pytest.raises(ImportedEditsError, match="nested too deeply"):
        load_edits(path)


@pytest.mark.parametrize("name, text", [("s.json", DEEP), ("s.toml", "a = " + DEEP)])
def test_deep_strategy_file_is_a_strategy_error(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(StrategyError, match="nested too deeply"):
        load_strategies(path)


# --- the setting -------------------------------------------------------------------------


def test_max_passages_setting_defaults_to_the_ingest_limit_and_old_configs_load():
    assert SessionConfig().max_passages == ingest.MAX_PASSAGES == 500
    stored = SessionConfig().to_dict()
    del stored["max_passages"]  # a session stored before the setting existed
    assert SessionConfig.from_dict(stored).max_passages == 500
    assert SessionConfig.from_dict({**stored, "max_passages": 2000}).max_passages == 2000


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True, None])
def test_max_passages_must_be_a_positive_whole_number(bad):
    with pytest.raises(ConfigError, match="max_passages"):
        SessionConfig(max_passages=bad)


def test_seal_run_max_passages_flag_reaches_the_config_and_the_reader(tmp_path, capsys):
    from engine.sessions.home import Home
    from seal_cli.flags import overrides
    from seal_cli.main import build_parser, main

    args = build_parser().parse_args(["run", "--session", "x", "--max-passages", "7"])
    assert overrides(args, "run") == {"max_passages": 7}
    assert Home().config_for("x", overrides(args, "run")).max_passages == 7
    assert "max_passages" not in overrides(build_parser().parse_args(["run", "--session", "x"]), "run")

    paper = tmp_path / "long.txt"
    paper.write_text("Long Title\n\n" + paragraphs(4))
    code = main(["run", str(paper), "--session", "y", "--passage-tokens", "32", "--max-passages", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert "splits into 4 passages; the limit is 3 passages per paper" in err and "Traceback" not in err
    assert not Home().exists("y")
