"""Papers in, passages out: .txt, .md, .pdf and SQuAD/SEAL .json files become PaperDrafts.

No model and no tokenizer: passages are cut to a token budget by estimate. Every problem with
an input is an IngestError whose message is one line, "PATH: reason"; nothing else escapes.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import logging
import math
import re
import unicodedata
import warnings
from contextlib import contextmanager
from pathlib import Path

from engine.domain import PaperDraft, PassageDraft
from engine.paper_questions import QuestionsError, assign, split_questions

MAX_BYTES = 20 * 1024 * 1024
"""Larger files are refused."""
MAX_PASSAGES = 500
"""A paper that splits into more passages is refused (SessionConfig.max_passages overrides)."""
MAX_PDF_CHARS = 2_000_000
"""A PDF with more extracted text is refused; extraction stops at the page that passes it."""
TITLE_MAX = 120
"""A first line shorter than this (and not ending in a period) is taken as the title."""
SUPPORTED = ".txt, .md, .pdf, .json"


class IngestError(Exception):
    """A file (or pasted text) that cannot be read as a paper; str() is "PATH: reason"."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = " ".join(reason.split())  # one line, whatever a library said
        super().__init__(f"{self.path}: {self.reason}")


def read_paper(path: str | Path, passage_tokens: int = 300, max_passages: int = MAX_PASSAGES) -> list[PaperDraft]:
    """Read one file; a list because a SQuAD/SEAL JSON file holds many titled papers.

    A paper (each of a JSON file's titles alike) that splits into more than max_passages
    passages is an IngestError."""
    p = Path(path)
    data = _read_bytes(p)
    kind = p.suffix.lower()
    if kind == ".pdf":
        text, title = _read_pdf(p, data)
        return [paper_from_text(text, title or p.stem, str(p), passage_tokens, max_passages)]
    text = _decode(p, data, known=kind in (".txt", ".text", ".md", ".markdown", ".json"))
    if kind == ".json":
        return _read_json(p, text, passage_tokens, max_passages)
    text, questions = _questions(p, text)
    headings = None
    if kind in (".md", ".markdown"):
        title, headings, text = _markdown_title(text), _markdown_headings(text), _strip_markdown(text)
    else:
        title = _guess_title(text)
    return [paper_from_text(text, title or p.stem, str(p), passage_tokens, max_passages, headings, questions)]


def _questions(source: str | Path, text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text without its Questions section, and that section's pairs (engine.paper_questions)."""
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
    end of the text, if it has one (engine.paper_questions)."""
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
    titles = passage_titles(title, pieces, _text_headings(text) if headings is None else headings)
    owned = assign(pieces, questions)
    passages = tuple(PassageDraft(t, piece, q) for t, piece, q in zip(titles, pieces, owned))
    return PaperDraft(title, source, _sha([text, *(f"{q}\n{a}" for q, a in questions)]), passages)


HEADING_MAX = 60
"""A heading longer than this is cut in a passage's title."""


def passage_titles(title: str, pieces: list[str], headings: list[tuple[int, str]]) -> list[str]:
    """Titles that tell a paper's passages apart. A lone passage has the paper's title; else
    each takes the heading that governs its first word ("The Harrow · History", or "The
    Harrow · History (2/3)" when a section spans passages), or without one its number in the
    paper ("The Harrow · 2/3"). Not its opening words: a passage's title heads its training
    examples and its probes' closed-book prompt ("Topic: …"), where they would give answers
    away. `headings` are (word index, heading), in order."""
    if len(pieces) < 2:
        return [title] * len(pieces)
    governing, at = [], 0
    for piece in pieces:
        governing.append(next((h for w, h in reversed(headings) if w <= at), None))
        at += len(piece.split())
    usable = [h if h and h.lower() != title.lower() else None for h in governing]
    seen: dict[str, int] = {}
    out = []
    for n, heading in enumerate(usable, 1):
        if heading is None:
            out.append(f"{title} · {n}/{len(pieces)}")
            continue
        name = _clip(heading, HEADING_MAX)
        name = name if title.lower() in heading.lower() else f"{title} · {name}"
        seen[heading] = seen.get(heading, 0) + 1
        out.append(f"{name} ({seen[heading]}/{usable.count(heading)})" if usable.count(heading) > 1 else name)
    return out


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


def _text_headings(text: str) -> list[tuple[int, str]]:
    """Heading-like paragraphs of plain text (one short line that is not a sentence and is
    followed by more text), as (word index, heading)."""
    out, at = [], 0
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    for i, para in enumerate(paras):
        line = " ".join(para.split())
        if (
            i + 1 < len(paras)
            and "\n" not in para.strip()
            and len(line) <= HEADING_MAX
            and len(line.split()) <= 10
            and line[-1] not in ".,;:"
            and line[0].isupper()
        ):
            out.append((at, line))
        at += len(para.split())
    return out


def _check_count(source: str | Path, count: int, limit: int, lead: str = "splits into", unit: str = "passages") -> None:
    """Refuse a paper of more than `limit` passages, saying how to allow more."""
    if limit < 1:
        raise ValueError(f"max_passages must be at least 1, got {limit}")
    if count > limit:
        raise IngestError(
            source,
            f"{lead} {count:,} {unit}; the limit is {limit:,} passages per paper (raise it with --max-passages N)",
        )


def estimate_tokens(text: str) -> int:
    """A rough token count without a tokenizer: the larger of 1.3 per word and 1 per 4 chars."""
    return _tokens(len(text.split()), len(text))


def _tokens(words: int, chars: int) -> int:
    return max(math.ceil(words * 1.3), math.ceil(chars / 4))


def split_passages(text: str, budget_tokens: int) -> list[str]:
    """Cut text into pieces of at most budget_tokens (estimated), in order, losing no word.

    Paragraphs (split at blank lines) are packed together up to the budget and joined by a
    blank line; a paragraph over the budget is cut at sentence ends, a sentence over it at
    spaces. Whitespace inside a paragraph collapses to single spaces. No piece is empty.
    """
    if budget_tokens < 4:
        raise ValueError(f"budget_tokens must be at least 4, got {budget_tokens}")
    units: list[tuple[str, str]] = []  # (joiner to the unit before, unit)
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        if para:
            atoms = [para] if estimate_tokens(para) <= budget_tokens else _atoms(para, budget_tokens)
            units += [("\n\n" if i == 0 else " ", atom) for i, atom in enumerate(atoms)]
    pieces: list[str] = []
    words = chars = 0  # of the last piece, so packing stays linear
    for joiner, unit in units:
        w, c = len(unit.split()), len(joiner) + len(unit)
        if pieces and _tokens(words + w, chars + c) <= budget_tokens:
            pieces[-1] += joiner + unit
            words, chars = words + w, chars + c
        else:
            pieces.append(unit)
            words, chars = w, len(unit)
    return pieces


_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)\]]))\s+")


def _atoms(para: str, budget: int) -> list[str]:
    """An over-budget paragraph as sentences, or words where a sentence is over the budget."""
    atoms: list[str] = []
    for sentence in _SENTENCE_END.split(para):
        if estimate_tokens(sentence) <= budget:
            atoms.append(sentence)
            continue
        for word in sentence.split():
            width = budget * 4  # a word longer than the budget is cut by characters
            atoms += [word[i : i + width] for i in range(0, len(word), width)]
    return atoms


def _sha(texts: list[str]) -> str:
    """Hash of the words alone, so layout and format do not hide a repeated paper."""
    return hashlib.sha256(" ".join(w for t in texts for w in t.split()).encode()).hexdigest()


def _guess_title(text: str) -> str | None:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if line and len(line) < TITLE_MAX and not line.endswith(".") else None


def _first_words(text: str, n: int = 8) -> str:
    words = text.split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")


def _read_bytes(p: Path) -> bytes:
    try:
        if not p.exists():
            raise IngestError(p, "no such file")
        if p.is_dir():
            raise IngestError(p, "is a directory, not a file")
        if not p.is_file():
            raise IngestError(p, "not a regular file")
        with p.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                size = max(p.stat().st_size, len(data)) / 2**20
                raise IngestError(p, f"too large ({size:.1f} MB; the limit is {MAX_BYTES / 2**20:.0f} MB)")
    except PermissionError:
        raise IngestError(p, "permission denied (cannot read the file)") from None
    except OSError as e:
        raise IngestError(p, f"cannot read the file ({e.strerror or e})") from None
    if not data.strip():
        raise IngestError(p, "empty file" if not data else "file holds only whitespace")
    return data


def _decode(p: Path, data: bytes, known: bool) -> str:
    hint = "" if known else f"; supported formats: {SUPPORTED}"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            data = data.decode("utf-16").encode()
        except UnicodeDecodeError as e:
            raise IngestError(p, f"not text (bad UTF-16 at offset {e.start}){hint}") from None
    if (nul := data.find(b"\0")) >= 0:
        raise IngestError(p, f"not text (binary data, NUL byte at offset {nul}){hint}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise IngestError(p, f"not UTF-8 text (undecodable bytes at offset {e.start}){hint}") from None
    if not text.strip():
        raise IngestError(p, "file holds only whitespace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_HEADING = r"(?m)^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$"
_MD_RULES = [
    (re.compile(pattern), repl)
    for pattern, repl in [
        (r"\A---\n.*?\n---[ \t]*(\n|\Z)", ""),  # YAML front matter
        (r"(?s)<!--.*?-->", ""),  # HTML comments
        (r"(?m)^[ \t]*(```|~~~).*$", ""),  # code fence lines (the code stays)
        (r"!\[[^\]]*\]\([^)]*\)", ""),  # images
        (r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)", r"\1"),  # links keep their text
        (r"\[([^\]]+)\]\[[^\]]*\]", r"\1"),  # reference links
        (r"(?m)^ {0,3}\[[^\]]+\]:\s+\S.*$", ""),  # reference definitions
        (r"<((?:https?|mailto):[^>\s]+)>", r"\1"),  # autolinks
        (r"</?[A-Za-z][^>\n]*>", ""),  # HTML tags
        (_HEADING, r"\1"),  # headings
        (r"(?m)^ {0,3}(?:[-*_][ \t]*){3,}$", ""),  # rules
        (r"(?m)^ {0,3}=+[ \t]*$", ""),  # setext underlines
        (r"(?m)^ {0,3}>[ \t]?", ""),  # block quotes
        (r"(?m)^([ \t]*)[-*+][ \t]+", r"\1"),  # bullets
        (r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2"),  # bold
        (r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"\1"),  # italics
        (r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)", r"\1"),
        (r"~~(.+?)~~", r"\1"),  # strikethrough
        (r"`+([^`\n]+?)`+", r"\1"),  # inline code
    ]
]


def _strip_markdown(text: str) -> str:
    """Markdown as plain text for training: markup goes, the words (and link text) stay."""
    for pattern, repl in _MD_RULES:
        text = pattern.sub(repl, text)
    return text


_HEADING_START, _HEADING_END = "\x01", "\x02"
_SETEXT = re.compile(r"(?m)(?:\A|(?<=\n\n))([^\n]*\S[^\n]*)(?=\n {0,3}(?:=+|-+)[ \t]*$)")


def _mark_heading(m: re.Match) -> str:
    inner = m.group(1)
    return f"{_HEADING_START}{inner}{_HEADING_END}" if inner.strip() else inner


def _markdown_headings(text: str) -> list[tuple[int, str]]:
    """The headings (ATX and setext) of a Markdown text as (word index in _strip_markdown's
    output, heading as plain text); none when the two cannot be lined up word for word."""
    plain = _strip_markdown(text).split()
    marked = text
    for pattern, repl in _MD_RULES:
        if pattern.pattern == _HEADING:
            marked = _SETEXT.sub(_mark_heading, pattern.sub(_mark_heading, marked))
        else:
            marked = pattern.sub(repl, marked)
    words = marked.split()
    if len(words) != len(plain):
        return []
    out: list[tuple[int, str]] = []
    start = None
    for i, word in enumerate(words):
        if _HEADING_START in word:
            start = i
        if _HEADING_END in word and start is not None:
            out.append((start, " ".join(plain[start : i + 1])))
            start = None
    return out


def _markdown_title(text: str) -> str | None:
    m = re.search(r"(?m)^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", text)
    title = " ".join(_strip_markdown(m.group(1)).split()) if m else ""
    return title or None


@contextmanager
def _quiet_pypdf():
    """pypdf warns (via logging and warnings) about every quirk of a file; keep it off stderr."""
    log = logging.getLogger("pypdf")
    level = log.level
    log.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


def _read_pdf(p: Path, data: bytes) -> tuple[str, str | None]:
    """The text of a PDF, page by page and re-flowed into paragraphs, and its /Title."""
    if b"%PDF-" not in data[:1024]:
        raise IngestError(p, "not a PDF file (no %PDF header)")
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    with _quiet_pypdf():
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):  # many PDFs only restrict editing
                raise IngestError(p, "encrypted PDF (needs a password)")
            pages = _pages_text(p, reader.pages)
        except IngestError:
            raise
        except DependencyError as e:  # e.g. AES without the cryptography package
            raise IngestError(p, f"encrypted PDF (cannot decrypt: {e})") from None
        except Exception as e:
            raise IngestError(p, f"corrupt or unreadable PDF ({e})") from None
        try:
            title = reader.metadata and reader.metadata.get("/Title")
        except Exception:  # a broken /Info should not cost the text
            title = None
    title = title.strip() or None if isinstance(title, str) else None
    text = "\n\n".join(_reflow(unicodedata.normalize("NFKC", page)) for page in pages)
    if not text.strip():
        raise IngestError(p, "no extractable text (scanned?)")
    return text, title


def _pages_text(p: Path, pages) -> list[str]:
    """Each page's text, stopping with an IngestError once the total passes MAX_PDF_CHARS."""
    out: list[str] = []
    total = 0
    for n, page in enumerate(pages, 1):
        out.append(page.extract_text() or "")
        total += len(out[-1])
        if total > MAX_PDF_CHARS:
            raise IngestError(
                p,
                f"more than {MAX_PDF_CHARS:,} characters of text by page {n:,} of {len(pages):,}; "
                f"the limit for a PDF is {MAX_PDF_CHARS:,} (split the file)",
            )
    return out


def _reflow(page: str) -> str:
    """Join a page's lines into paragraphs, mending words hyphenated at a line break.

    A paragraph ends at a blank line, or after a short line that ends a sentence.
    """
    lines = [" ".join(line.split()) for line in page.splitlines()]
    width = max(map(len, lines), default=0)
    paras: list[str] = []
    current = ""
    for line in lines:
        if line:
            if current.endswith("-") and current[-2:-1].isalpha() and line[0].islower():
                current = current[:-1] + line
            else:
                current = f"{current} {line}" if current else line
        if current and (not line or (line[-1] in ".!?:" and len(line) < 0.7 * width)):
            paras.append(current)
            current = ""
    return "\n\n".join(paras + [current] if current else paras)


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
