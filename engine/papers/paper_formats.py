"""A paper file's bytes as plain text: the file checked and decoded, Markdown's markup
stripped (its title and headings kept), a PDF's text extracted and re-flowed.

Every problem is an IngestError whose message is one line, "PATH: reason"; nothing else
escapes. Turning the text into passages is engine.papers.ingest's job.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import unicodedata
import warnings
from contextlib import contextmanager
from pathlib import Path

MAX_BYTES = 20 * 1024 * 1024
"""Larger files are refused."""
MAX_PDF_CHARS = 2_000_000
"""A PDF with more extracted text is refused; extraction stops at the page that passes it."""
SUPPORTED = ".txt, .md, .pdf, .json"


class IngestError(Exception):
    """A file (or pasted text) that cannot be read as a paper; str() is "PATH: reason"."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = " ".join(reason.split())  # one line, whatever a library said
        super().__init__(f"{self.path}: {self.reason}")


def read_bytes(p: Path) -> bytes:
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


def decode(p: Path, data: bytes, known: bool) -> str:
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


def strip_markdown(text: str) -> str:
    """Markdown as plain text for training: markup goes, the words (and link text) stay."""
    for pattern, repl in _MD_RULES:
        text = pattern.sub(repl, text)
    return text


_HEADING_START, _HEADING_END = "\x01", "\x02"
_SETEXT = re.compile(r"(?m)(?:\A|(?<=\n\n))([^\n]*\S[^\n]*)(?=\n {0,3}(?:=+|-+)[ \t]*$)")


def _mark_heading(m: re.Match) -> str:
    inner = m.group(1)
    return f"{_HEADING_START}{inner}{_HEADING_END}" if inner.strip() else inner


def markdown_headings(text: str) -> list[tuple[int, str]]:
    """The headings (ATX and setext) of a Markdown text as (word index in strip_markdown's
    output, heading as plain text); none when the two cannot be lined up word for word."""
    plain = strip_markdown(text).split()
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


def markdown_title(text: str) -> str | None:
    m = re.search(r"(?m)^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", text)
    title = " ".join(strip_markdown(m.group(1)).split()) if m else ""
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


def read_pdf(p: Path, data: bytes) -> tuple[str, str | None]:
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
