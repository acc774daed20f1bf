"""Questions written into a text or Markdown paper become its passages' given probes."""

import pytest

from engine.papers.ingest import IngestError, paper_from_text, read_paper

PAPER = """# The Orrin Canal

The Orrin Canal links Tessaly to Harrowmere. Work on it began in 1761 under the engineer Bastien Quell.

## Trade

Barges carried slate and barley, pulled by mules. The canal closed to trade in 1938.

## Questions

- Q: Who was the engineer of the Orrin Canal?
  A: Bastien Quell
- Q: What pulled the barges? A: mules
1. Q: When did the canal close to trade?
   A: 1938
"""


def test_a_markdown_questions_section_gives_each_passage_the_questions_it_answers(tmp_path):
    path = tmp_path / "orrin.md"
    path.write_text(PAPER)
    paper = read_paper(path, passage_tokens=32)[0]
    assert len(paper.passages) == 2
    first, second = paper.passages
    assert first.questions == (("Who was the engineer of the Orrin Canal?", "Bastien Quell"),)
    assert second.questions == (("What pulled the barges?", "mules"), ("When did the canal close to trade?", "1938"))
    assert all("Questions" not in p.text and "Q:" not in p.text for p in paper.passages)
    plain = tmp_path / "plain.md"
    plain.write_text(PAPER.split("## Questions")[0])
    assert read_paper(plain, passage_tokens=32)[0].sha256 != paper.sha256  # the questions are part of the paper


def test_a_text_paper_and_pasted_text_read_a_plain_questions_line():
    text = (
        "Kettleby cheese is washed in cider for nine weeks.\n\nQuestions\n"
        "Q: How long is the cheese washed?\nA: nine weeks\n"
    )
    paper = paper_from_text(text, "Kettleby Cheese")
    assert paper.passages[0].questions == (("How long is the cheese washed?", "nine weeks"),)
    assert "Questions" not in paper.passages[0].text


def test_a_questions_section_of_prose_stays_in_the_paper():
    text = "The comet returns every 61 years.\n\n## Questions\n\nWhy it returns so often is still open.\n"
    paper = paper_from_text(text, "Tarsel")
    assert paper.passages[0].questions == ()
    assert "still open" in paper.passages[0].text


@pytest.mark.parametrize(
    ("section", "reason"),
    [
        ("Q: Who built it?\nQ: When?\nA: 1761", "line 3: question 'Who built it?' has no answer (an A: line)"),
        ("Q: Who built it?\nA: Quell\nA: again", "line 5: an answer with no question before it"),
        ("Q: Who built it?\nBastien Quell", "line 4: expected 'Q: a question' or 'A: its answer', got 'Bastien Quell'"),
        ("Q: Who built it?", "line 3: question 'Who built it?' has no answer (an A: line)"),
        ("Q: Who built it?\nA:", "line 3: a question and its answer must not be empty"),
    ],
)
def test_a_broken_questions_section_is_refused_naming_its_line(tmp_path, section, reason):
    path = tmp_path / "broken.md"
    path.write_text(f"The canal was built by Quell.\n## Questions\n{section}\n")
    with pytest.raises(IngestError) as err:
        read_paper(path)
    assert str(err.value) == f"{path}: Questions section, {reason}"


def test_the_sample_paper_ships_with_questions_for_every_passage():
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "seal_tui" / "samples" / "velmora.md"
    paper = read_paper(sample)[0]
    assert len(paper.passages) == 3
    for passage in paper.passages:
        assert len(passage.questions) >= 4
        assert all(" ".join(a.split()).lower() in " ".join(passage.text.split()).lower() for _, a in passage.questions)
