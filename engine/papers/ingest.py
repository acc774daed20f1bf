"""Papers in, passages out: .txt, .md, .pdf and SQuAD/SEAL .json files become PaperDrafts.

No model and no tokenizer: passages are cut to a token budget by estimate (engine.papers.passages)
from a file's text (engine.papers.paper_formats). Every problem with an input is an IngestError
whose message is one line, "PATH: reason"; nothing else escapes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from engine.domain import PaperDraft, PassageDraft
from engine.papers.paper_formats import (
    IngestError,
    decode,
    markdown_headings,
    markdown_title,
    read_bytes,
    read_pdf,
    strip_markdown,
)
from engine.papers.paper_questions import QuestionsError, assign, split_questions
from engine.papers.passages import passage_titles, split_passages, text_headings

MAX_PASSAGES = 500
"""A paper that splits into more passages is refused (SessionConfig.max_passages overrides)."""
TITLE_MAX = 120
"""A first line shorter than this (and not ending in a period) is taken as the title."""


def read_paper(path: str | Path, passage_tokens: int = 300, max_passages: int = MAX_PASSAGES) -> list[PaperDraft]:
    """Read one file; a list because a SQuAD/SEAL JSON file holds many titled papers.

    A paper (each of a JSON file's titles alike) that splits into more than max_passages
    passages is an IngestError."""
    p = Path(path)
    data = read_bytes(p)
    kind = p.suffix.lower()
    if kind == ".pdf":
        text, title = read_pdf(p, data)
        return [paper_from_text(text, title or p.stem, str(p), passage_tokens, max_passages)]
    text = decode(p, data, known=kind in (".txt", ".text", ".md", ".markdown", ".json"))
    if kind == ".json":
        return _read_json(p, text, passage_tokens, max_passages)
    text, questions = _questions(p, text)
    headings = None
    if kind in (".md", ".markdown"):
        title, headings, text = markdown_title(text), markdown_headings(text), strip_markdown(text)
    else:
        title = _guess_title(text)
    return [paper_from_text(text, title or p.stem, str(p), passage_tokens, max_passages, headings, questions)]


def _questions(source: str | Path, text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text without its Questions section, and that section's pairs (engine.papers.paper_questions)."""
    try:
        return split_questions(text)
    except QuestionsError as exc:
        raise IngestError(source, f"Questions section, {exc}") from None


def paper_from_text(
    text: str,
    title: str | None = None,
    source: str = "pasted text",
    passage_tokens: int = 300,
    max_passages: int = MAX_PASSAGES,
    headings: list[tuple[int, str]] | None = None,
    questions: list[tuple[str, str]] | None = None,
) -> PaperDraft:
    """A paper from plain text; without a title, the first line (if it looks like one) or words.

    One passage carries the paper's title; several are told apart (passage_titles) by their
    nearest heading: `headings` as (word index in `text`, heading) pairs, e.g. a Markdown
    file's, or by default the text's own heading-like lines. `questions` (question, answer)
    go to the passages that hold their answers; None: read from a Questions section at the
    end of the text, if it has one (engine.papers.paper_questions)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if questions is None:
        text, questions = _questions(source, text)
    title = " ".join((title or _guess_title(text) or _first_words(text)).split())
    head, _, rest = text.strip().partition("\n")
    if " ".join(head.split()) == title and rest.strip():
        text = rest  # the title heads every training example; not again inside the passage
        if headings is not None:
            dropped = len(head.split())
            headings = [(at - dropped, h) for at, h in headings if at >= dropped]
    pieces = split_passages(text, passage_tokens)
    if not pieces:
        raise IngestError(source, "no text (empty or only whitespace)")
    _check_count(source, len(pieces), max_passages)
    titles = passage_titles(title, pieces, text_headings(text) if headings is None else headings)
    owned = assign(pieces, questions)
    passages = tuple(PassageDraft(t, piece, q) for t, piece, q in zip(titles, pieces, owned))
    return PaperDraft(title, source, _sha([text, *(f"{q}\n{a}" for q, a in questions)]), passages)


def _check_count(source: str | Path, count: int, limit: int, lead: str = "splits into", unit: str = "passages") -> None:
    """Refuse a paper of more than `limit` passages, saying how to allow more."""
    if limit < 1:
        raise ValueError(f"max_passages must be at least 1, got {limit}")
    if count > limit:
        raise IngestError(
            source,
            f"{lead} {count:,} {unit}; the limit is {limit:,} passages per paper (raise it with --max-passages N)",
        )


def _sha(texts: list[str]) -> str:
    """Hash of the words alone, so layout and format do not hide a repeated paper."""
    return hashlib.sha256(" ".join(w for t in texts for w in t.split()).encode()).hexdigest()


def _guess_title(text: str) -> str | None:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if line and len(line) < TITLE_MAX and not line.endswith(".") else None


def _first_words(text: str, n: int = 8) -> str:
    words = text.split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")


def _read_json(p: Path, text: str, budget: int, max_passages: int) -> list[PaperDraft]:
    """[{"title", "context", "questions": [{"question", "answer"}]}]; a paper per run of titles."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise IngestError(p, f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise IngestError(p, "JSON nested too deeply") from None
    except ValueError as e:  # e.g. an integer over Python's digit limit (its sys.* hint dropped)
        raise IngestError(p, f"invalid JSON ({str(e).partition(';')[0]})") from None
    if not isinstance(data, list) or not data:
        raise IngestError(p, 'expected a non-empty JSON list of {"title", "context", "questions"} objects')
    groups: list[tuple[str, list[tuple[str, tuple]]]] = []
    for n, entry in enumerate(data, 1):
        title, context, pairs = _entry(p, n, entry)
        if groups and groups[-1][0] == title:
            groups[-1][1].append((context, pairs))
        else:
            groups.append((title, [(context, pairs)]))
    for title, items in groups:  # before any splitting: an entry is at least one passage
        _check_count(p, len(items), max_passages, f"paper {title!r} has", "entries")
    return [_json_paper(p, title, items, budget, max_passages) for title, items in groups]


def _entry(p: Path, n: int, entry: object) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """One checked entry; n counts from 1 in messages."""
    if not isinstance(entry, dict):
        raise IngestError(p, f"entry {n}: must be an object with 'title', 'context' and 'questions'")
    for key in ("title", "context"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise IngestError(p, f"entry {n}: {key!r} must be a non-empty string")
    questions = entry.get("questions", [])
    if not isinstance(questions, list):
        raise IngestError(p, f"entry {n}: 'questions' must be a list")
    pairs = []
    for m, q in enumerate(questions, 1):
        if not isinstance(q, dict):
            raise IngestError(p, f"entry {n}, question {m}: must be an object with 'question' and 'answer'")
        for key in ("question", "answer"):
            if not isinstance(q.get(key), str) or not q[key].strip():
                raise IngestError(p, f"entry {n}, question {m}: {key!r} must be a non-empty string")
        pairs.append((q["question"].strip(), q["answer"].strip()))
    return " ".join(entry["title"].split()), entry["context"], tuple(pairs)


def _json_paper(p: Path, title: str, items: list, budget: int, max_passages: int) -> PaperDraft:
    """Each context is a passage (cut further only if over budget) with its questions."""
    split = [split_passages(context, budget) for context, _ in items]
    _check_count(p, sum(map(len, split)), max_passages, f"paper {title!r} splits into")
    passages: list[PassageDraft] = []
    for (_context, pairs), pieces in zip(items, split):  # a question goes with the piece holding its answer
        passages += [PassageDraft(title, piece, o) for piece, o in zip(pieces, assign(pieces, list(pairs)))]
    return PaperDraft(title, str(p), _sha([context for context, _ in items]), tuple(passages))
