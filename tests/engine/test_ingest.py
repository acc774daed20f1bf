"""Ingest: files of every supported format become papers and passages, bad files clear errors."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from engine.papers import paper_formats
from engine.papers.ingest import IngestError, paper_from_text, read_paper
from engine.papers.passages import estimate_tokens, split_passages

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "squad_sample.json"
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def prose(sentences: int, words: int = 9, seed: int = 0) -> str:
    """Sentences of plain words, each ending with a period."""
    out = []
    for s in range(sentences):
        ws = [WORDS[(seed + s * 7 + i * 3) % len(WORDS)] for i in range(words)]
        out.append(" ".join(ws).capitalize() + ".")
    return " ".join(out)


def make_pdf(pages: list[list[str]], title: str | None = None, bad_xref: bool = False) -> bytes:
    """A minimal valid PDF whose pages show the given lines in Helvetica."""
    esc = lambda s: s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")  # noqa: E731
    objs = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    kids, n = [], 4
    for lines in pages:
        ops = ["BT /F1 12 Tf 14 TL 72 720 Td"] + [f"({esc(line)}) Tj T*" for line in lines] + ["ET"]
        stream = "\n".join(ops).encode("latin-1")
        objs[n] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {n + 1} 0 R >>"
        ).encode()
        objs[n + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
        kids.append(n)
        n += 2
    objs[2] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
    if title:
        objs[n] = f"<< /Title ({esc(title)}) >>".encode()
    out, offsets = bytearray(b"%PDF-1.4\n"), {}
    for i in sorted(objs):
        offsets[i] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (i, objs[i])
    xref, size = len(out), max(objs) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for i in range(1, size):
        out += b"%010d 00000 n \n" % (offsets[i] + (13 if bad_xref else 0))
    info = f" /Info {n} 0 R" if title else ""
    out += f"trailer\n<< /Size {size} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content.encode() if isinstance(content, str) else content)
    return p


def error_of(path: Path, **kw) -> IngestError:
    with pytest.raises(IngestError) as info:
        read_paper(path, **kw)
    err = info.value
    assert str(err) == f"{path}: {err.reason}" and "\n" not in str(err)
    assert err.path == str(path)
    return err


# --- splitting ---------------------------------------------------------------------------


def test_estimate_tokens_is_rough_but_monotone():
    assert estimate_tokens("") == 0
    assert estimate_tokens("one two three") == 4  # 3 words * 1.3
    assert estimate_tokens("x" * 400) == 100  # one long word: chars / 4
    assert estimate_tokens(prose(10)) < estimate_tokens(prose(20))


@pytest.mark.parametrize("budget", [8, 20, 50, 300])
def test_split_respects_budget_keeps_order_and_every_word(budget):
    paras = [prose(k % 5 + 1, seed=k) for k in range(12)] + [prose(40, seed=99)]
    text = "\n\n".join(paras)
    pieces = split_passages(text, budget)
    assert pieces and all(p.strip() for p in pieces)
    assert all(estimate_tokens(p) <= budget for p in pieces)
    assert " ".join(pieces).split() == text.split()


def test_split_packs_small_paragraphs_and_keeps_their_breaks():
    text = "First paragraph here.\n\n\nSecond one.\n   \nThird."
    assert split_passages(text, 300) == ["First paragraph here.\n\nSecond one.\n\nThird."]


def test_split_cuts_a_long_paragraph_at_sentence_ends():
    text = prose(30)
    pieces = split_passages(text, 40)
    assert len(pieces) > 1
    assert all(p.endswith(".") for p in pieces)


def test_split_cuts_a_long_sentence_at_words_and_a_huge_word_by_characters():
    sentence = " ".join(WORDS * 20)
    pieces = split_passages(sentence, 16)
    assert len(pieces) > 1 and " ".join(pieces).split() == sentence.split()
    blob = "x" * 1000
    pieces = split_passages(blob, 10)
    assert "".join(pieces) == blob and all(estimate_tokens(p) <= 10 for p in pieces)


def test_split_of_nothing_is_nothing_and_tiny_budgets_are_refused():
    assert split_passages(" \n\n \t", 50) == []
    with pytest.raises(ValueError):
        split_passages("text", 2)


# --- text, pasted and from files ---------------------------------------------------------


def test_paper_from_pasted_text():
    paper = paper_from_text("A Short Title\n\n" + prose(3), passage_tokens=300)
    assert paper.title == "A Short Title" and paper.source == "pasted text"
    assert len(paper.passages) == 1 and paper.passages[0].title == "A Short Title"
    assert paper_from_text(prose(3)).title.endswith("…")  # a sentence is not a title
    assert paper_from_text(prose(3), title="Mine").passages[0].title == "Mine"


def test_pasted_blank_text_is_an_error():
    with pytest.raises(IngestError, match="^pasted text: no text"):
        paper_from_text("   \n\n ")


def test_same_words_same_hash_whatever_the_layout():
    a = paper_from_text("Title\n\nSome words here.\nAnd more.")
    b = paper_from_text("Title\r\n\r\nSome   words here. And more.  ")
    c = paper_from_text("Title\n\nOther words.")
    assert a.sha256 == b.sha256 != c.sha256 and len(a.sha256) == 64


def test_txt_title_from_first_line_else_file_stem(tmp_path):
    (paper,) = read_paper(write(tmp_path, "notes.TXT", "\n  Cell Biology Notes\r\n\r\n" + prose(4)))
    assert paper.title == "Cell Biology Notes" and paper.source.endswith("notes.TXT")
    assert "\r" not in paper.passages[0].text
    (paper,) = read_paper(write(tmp_path, "lecture-3.txt", "This first line is a sentence.\n" + prose(2)))
    assert paper.title == "lecture-3"
    (paper,) = read_paper(write(tmp_path, "long.txt", "word " * 60 + "\n\nbody"))
    assert paper.title == "long"


def test_long_text_is_split_into_titled_passages_in_order(tmp_path):
    text = "\n\n".join(prose(6, seed=k) for k in range(20))
    (paper,) = read_paper(write(tmp_path, "big.txt", text), passage_tokens=80)
    assert len(paper.passages) > 3
    titles = [p.title for p in paper.passages]  # told apart: "big · 2: Opening words…"
    assert len(set(titles)) == len(titles) and all(t.startswith("big · ") for t in titles)
    assert " ".join(p.text for p in paper.passages).split() == text.split()


def test_markdown_title_and_markup_stripped(tmp_path):
    md = """---
layout: post
---
<!-- draft: do not cite -->
# The *Graph* Paper #

Intro with **bold**, _italic_, `code` and a [link text](https://example.com/x_(y)).
![diagram](img/fig1.png)

## Methods
> quoted line
- first item
* second item

```python
print("kept")
```
---
See [ref][1] and <https://auto.example>.

[1]: https://example.com/ref
"""
    (paper,) = read_paper(write(tmp_path, "paper.md", md))
    text = "\n".join(p.text for p in paper.passages)
    assert paper.title == "The Graph Paper"
    for word in [
        "Intro with bold, italic, code and a link text.",
        "Methods",
        "quoted line",
        "first item",
        "second item",
        'print("kept")',
        "See ref and https://auto.example",
    ]:
        assert word in text
    for junk in [
        "#",
        "**",
        "_italic_",
        "`",
        "](",
        "example.com/x",
        "![",
        "diagram",
        "<!--",
        "draft",
        "layout",
        "```",
        "[1]",
        "> ",
        "- first",
    ]:
        assert junk not in text, junk


def test_markdown_without_heading_takes_the_stem(tmp_path):
    (paper,) = read_paper(write(tmp_path, "readme.markdown", prose(2)))
    assert paper.title == "readme"


def test_unknown_extension_read_as_text_if_it_is(tmp_path):
    (paper,) = read_paper(write(tmp_path, "abstract.rst", "Abstract\n\n" + prose(2)))
    assert paper.title == "Abstract"
    err = error_of(write(tmp_path, "image.png", b"\x89PNG\r\n\x1a\n\x00\x00"))
    assert "not text" in err.reason and ".pdf" in err.reason


def test_utf8_bom_and_utf16_are_read(tmp_path):
    (paper,) = read_paper(write(tmp_path, "bom.txt", b"\xef\xbb\xbfTitle\n\nBody text."))
    assert paper.title == "Title"
    (paper,) = read_paper(write(tmp_path, "wide.txt", "Wide Title\n\nBody.".encode("utf-16")))
    assert paper.title == "Wide Title" and "Body." in paper.passages[0].text


# --- file errors -------------------------------------------------------------------------


def test_missing_file(tmp_path):
    assert "no such file" in error_of(tmp_path / "nope.txt").reason


def test_directory(tmp_path):
    assert "directory" in error_of(tmp_path).reason


def test_unreadable_file(tmp_path, monkeypatch):
    p = write(tmp_path, "secret.txt", "text")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)
    assert "permission denied" in error_of(p).reason


READ_AS_NOBODY = """
import os, sys
from engine.papers.ingest import IngestError, read_paper
read_paper(sys.argv[1])  # imports what reading needs while the interpreter's files are readable
if os.geteuid() == 0:  # root reads anything: read as nobody
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
for path in sys.argv[1:]:
    try:
        read_paper(path)
        print("read")
    except IngestError as exc:
        print(exc.reason)
"""


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_unreadable_file_for_real():
    """A file whose mode forbids reading it, read by a process that may not (as root, the
    child drops to nobody); a readable file beside it shows the child reached the folder."""
    folder = Path(tempfile.mkdtemp(prefix="seal-unreadable-"))  # pytest's tmp_path is root-only
    try:
        folder.chmod(0o711)
        readable = write(folder, "open.txt", "Title\n\nSome text.")
        readable.chmod(0o644)
        secret = write(folder, "secret.txt", "text")
        secret.chmod(0)
        done = subprocess.run(
            [sys.executable, "-c", READ_AS_NOBODY, str(readable), str(secret)],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.splitlines() == ["read", "permission denied (cannot read the file)"]
    finally:
        shutil.rmtree(folder)


@pytest.mark.parametrize("content, reason", [(b"", "empty file"), (b" \n\t\r\n ", "only whitespace")])
@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.pdf", "a.json"])
def test_empty_or_blank_file(tmp_path, name, content, reason):
    assert reason in error_of(write(tmp_path, name, content)).reason


def test_markdown_with_nothing_but_markup(tmp_path):
    assert "no text" in error_of(write(tmp_path, "c.md", "<!-- nothing -->\n---\n")).reason


def test_too_large(tmp_path):
    p = tmp_path / "huge.txt"
    with p.open("wb") as f:
        f.truncate(paper_formats.MAX_BYTES + 5 * 2**20)  # sparse: fast, takes no disk
    err = error_of(p)
    assert "too large (25.0 MB" in err.reason and "20 MB" in err.reason


def test_binary_and_undecodable(tmp_path):
    assert "NUL byte at offset 3" in error_of(write(tmp_path, "a.txt", b"abc\x00def")).reason
    err = error_of(write(tmp_path, "b.txt", "héllo".encode("latin-1")))
    assert err.reason == "not UTF-8 text (undecodable bytes at offset 1)"


# --- PDF ---------------------------------------------------------------------------------


def test_pdf_text_title_and_reflow(tmp_path):
    pages = [
        ["The first line of a para-", "graph goes on here and it", "ends now."],
        ["Page two (with parentheses) says hello."],
    ]
    (paper,) = read_paper(write(tmp_path, "doc.PDF", make_pdf(pages, title="A PDF Title")))
    text = "\n\n".join(p.text for p in paper.passages)
    assert paper.title == "A PDF Title"
    assert "The first line of a paragraph goes on here and it ends now." in text
    assert "Page two (with parentheses) says hello." in text
    assert text.index("first line") < text.index("Page two")


def test_pdf_without_title_takes_the_stem(tmp_path):
    (paper,) = read_paper(write(tmp_path, "scan-01.pdf", make_pdf([["Hello world."]])))
    assert paper.title == "scan-01" and paper.passages[0].text == "Hello world."


def test_pdf_encrypted_with_a_password(tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.encrypt("secret")
    buf = io.BytesIO()
    writer.write(buf)
    err = error_of(write(tmp_path, "notes.pdf", buf.getvalue()))
    assert err.reason == "encrypted PDF (needs a password)"


def test_pdf_encrypted_without_a_user_password_opens(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([["Restricted but readable."]]))))
    writer.encrypt("", owner_password="owner")
    buf = io.BytesIO()
    writer.write(buf)
    (paper,) = read_paper(write(tmp_path, "locked.pdf", buf.getvalue()))
    assert paper.passages[0].text == "Restricted but readable."


def test_pdf_without_text(tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    buf = io.BytesIO()
    writer.write(buf)
    err = error_of(write(tmp_path, "scan.pdf", buf.getvalue()))
    assert err.reason == "no extractable text (scanned?)"


@pytest.mark.parametrize("content", [b"%PDF-1.4\n garbage \x01\x02 not a pdf", make_pdf([["x"]])[:60]])
def test_pdf_corrupt(tmp_path, content):
    assert "corrupt or unreadable PDF" in error_of(write(tmp_path, "broken.pdf", content)).reason


def test_pdf_that_is_not_a_pdf(tmp_path):
    assert "not a PDF" in error_of(write(tmp_path, "fake.pdf", "just text")).reason


def test_pdf_warnings_stay_quiet(tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    (paper,) = read_paper(write(tmp_path, "odd.pdf", make_pdf([["Still readable."]], bad_xref=True)))
    assert paper.passages[0].text == "Still readable."
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]
    assert capfd.readouterr().err == ""
    assert logging.getLogger("pypdf").level == logging.NOTSET  # restored


# --- SQuAD/SEAL JSON ---------------------------------------------------------------------


def test_squad_fixture_groups_consecutive_titles():
    papers = read_paper(FIXTURE)
    assert [p.title for p in papers] == ["Lake Verin", "Harlow Bridge"]
    assert [len(p.passages) for p in papers] == [2, 1]
    lake = papers[0].passages
    assert lake[0].text.startswith("Lake Verin is a cold") and lake[0].title == "Lake Verin"
    assert lake[0].questions[0] == ("In which province is Lake Verin?", "Ostrand")
    assert [len(p.questions) for p in lake] == [3, 2]
    assert papers[0].sha256 != papers[1].sha256 and papers[0].source == str(FIXTURE)


def test_squad_entries_apart_with_one_title_are_two_papers(tmp_path):
    entries = json.loads(FIXTURE.read_text())
    entries = [entries[0], entries[2], entries[1]]
    papers = read_paper(write(tmp_path, "s.json", json.dumps(entries)))
    assert [p.title for p in papers] == ["Lake Verin", "Harlow Bridge", "Lake Verin"]


def test_squad_long_context_questions_follow_their_answers(tmp_path):
    context = prose(30) + " The answer is Zanzibar. " + prose(30, seed=5)
    entry = {
        "title": "T",
        "context": context,
        "questions": [{"question": "Where?", "answer": "zanzibar"}, {"question": "What?", "answer": "not in text"}],
    }
    (paper,) = read_paper(write(tmp_path, "long.json", json.dumps([entry])), passage_tokens=60)
    holders = [p for p in paper.passages if p.questions]
    assert len(paper.passages) > 2
    where = next(p for p in paper.passages if ("Where?", "zanzibar") in p.questions)
    assert "Zanzibar" in where.text
    assert ("What?", "not in text") in paper.passages[0].questions
    assert sum(len(p.questions) for p in holders) == 2


def test_squad_invalid_json_says_where(tmp_path):
    err = error_of(write(tmp_path, "bad.json", '[\n {"title": "x",\n  "context": }\n]'))
    assert err.reason.startswith("invalid JSON at line 3, column 14")


@pytest.mark.parametrize(
    "data, reason",
    [
        ({"data": []}, "expected a non-empty JSON list"),
        ([], "expected a non-empty JSON list"),
        (["text"], "entry 1: must be an object"),
        ([{"context": "c"}], "entry 1: 'title' must be a non-empty string"),
        (
            [{"title": "t", "context": "c"}, {"title": "t", "context": "  "}],
            "entry 2: 'context' must be a non-empty string",
        ),
        ([{"title": "t", "context": 5}], "entry 1: 'context' must be a non-empty string"),
        ([{"title": "t", "context": "c", "questions": "q"}], "entry 1: 'questions' must be a list"),
        ([{"title": "t", "context": "c", "questions": ["q"]}], "entry 1, question 1: must be an object"),
        (
            [{"title": "t", "context": "c", "questions": [{"question": "q", "answer": "a"}, {"question": "q"}]}],
            "entry 1, question 2: 'answer' must be a non-empty string",
        ),
        (
            [{"title": "t", "context": "c", "questions": [{"question": "", "answer": "a"}]}],
            "entry 1, question 1: 'question' must be a non-empty string",
        ),
    ],
)
def test_squad_wrong_shape_names_entry_and_field(tmp_path, data, reason):
    assert reason in error_of(write(tmp_path, "shape.json", json.dumps(data))).reason


def test_squad_questions_are_optional(tmp_path):
    (paper,) = read_paper(write(tmp_path, "q.json", json.dumps([{"title": "t", "context": "Some text."}])))
    assert paper.passages[0].questions == ()


def test_the_invented_fact_benchmark_reads_as_ten_passages_whose_answers_are_in_their_text():
    drafts = read_paper(Path(__file__).parents[2] / "bench" / "data" / "invented_facts.json")
    passages = [p for d in drafts for p in d.passages]
    assert len(passages) == 10 and all(len(p.questions) == 5 for p in passages)
    assert all(a.lower() in p.text.lower() for p in passages for _, a in p.questions)
