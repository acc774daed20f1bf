"""Self-edits written by someone else: a SEAL-format JSON file read once, looked up per passage.

The file is SEAL's own format, a JSON list of
`{"title": str, "context": str, "questions": [...], "completions": [str, ...]}`, e.g. a
stronger model's implications of each passage. A session given such a file
(`GenerationConfig.edits_from`) takes a passage's self-edits from it instead of sampling
them, so a person can tell whether the writer or the learner limits the model.

Matching is on the passage text, whitespace-normalised and case-sensitive:
1. an entry whose whole context equals the passage text;
2. else an entry whose context contains the passage text, because ingest cuts a context
   longer than `passage_tokens` into several passages, and each piece then takes the
   completions written for the whole context.
Where several entries match, one with the passage's title wins, else the first in the file.
Entries without completions (and blank completions) are skipped. Nothing here knows about
sessions or the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

IMPORTED = "imported"
"""The strategy name a session stores such self-edits under: gated among themselves and split
into examples like implications (one per line), and trained whole (engine.learning.training_examples)."""

MAX_BYTES = 50 * 1024 * 1024
"""Largest edits file read (SEAL's 200-passage GPT-4.1 file is 2.4 MB)."""


class ImportedEditsError(ValueError):
    """The edits file cannot be used; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class ImportedEntry:
    title: str
    """Whitespace-normalised, as ingest stores passage titles."""
    context: str
    """Whitespace-normalised."""
    completions: tuple[str, ...]
    """The self-edits, stripped, in file order, blank ones dropped."""


def _norm(text: str) -> str:
    return " ".join(text.split())


class ImportedEdits:
    """The entries of one edits file, looked up by passage text."""

    def __init__(self, path: Path, entries: list[ImportedEntry]):
        self.path = path
        self.entries = tuple(entries)
        self._by_context: dict[str, list[ImportedEntry]] = {}
        for entry in self.entries:
            if entry.completions:
                self._by_context.setdefault(entry.context, []).append(entry)

    def __len__(self) -> int:
        """Entries in the file, with or without completions."""
        return len(self.entries)

    @property
    def with_completions(self) -> int:
        return sum(1 for e in self.entries if e.completions)

    def for_passage(self, title: str, text: str) -> list[str]:
        """The completions written for this passage, in file order; [] when it is not in the file."""
        text, title = _norm(text), _norm(title)
        if not text:
            return []
        found = self._by_context.get(text) or [e for e in self.entries if e.completions and text in e.context]
        if not found:
            return []
        best = next((e for e in found if e.title == title), found[0])
        return list(best.completions)


def load_edits(path: str | Path) -> ImportedEdits:
    """Read and check an edits file; raises ImportedEditsError with a one-line reason."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ImportedEditsError(f"{p}: no such file")
    if not p.is_file():
        raise ImportedEditsError(f"{p}: not a file")
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise ImportedEditsError(
            f"{p}: {size / 2**20:.1f} MB is over the {MAX_BYTES // 2**20} MB limit for an edits file"
        )
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ImportedEditsError(f"{p}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise ImportedEditsError(f"{p}: not JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise ImportedEditsError(f"{p}: JSON nested too deeply") from None
    except ValueError as e:  # e.g. an integer over Python's digit limit (its sys.* hint dropped)
        raise ImportedEditsError(f"{p}: not usable JSON ({str(e).partition(';')[0]})") from None
    except OSError as e:
        raise ImportedEditsError(f"{p}: cannot read it ({e.strerror or e})") from None
    if not isinstance(data, list):
        raise ImportedEditsError(
            f'{p}: expected a JSON list of {{"title", "context", "completions"}} objects, got {type(data).__name__}'
        )
    entries = [_entry(p, n, item) for n, item in enumerate(data, 1)]
    if not any(e.completions for e in entries):
        raise ImportedEditsError(f"{p}: no entry has any completions")
    return ImportedEdits(p, entries)


def _entry(p: Path, n: int, item: object) -> ImportedEntry:
    """One checked entry; n counts from 1 in messages."""
    if not isinstance(item, dict):
        raise ImportedEditsError(f"{p}: entry {n}: must be an object with 'context' and 'completions'")
    if not isinstance(item.get("context"), str):
        raise ImportedEditsError(f"{p}: entry {n}: 'context' must be a string")
    title = item.get("title", "")
    if not isinstance(title, str):
        raise ImportedEditsError(f"{p}: entry {n}: 'title' must be a string")
    completions = item.get("completions")
    if not isinstance(completions, list) or not all(isinstance(c, str) for c in completions):
        raise ImportedEditsError(f"{p}: entry {n}: 'completions' must be a list of strings")
    kept = tuple(c.strip() for c in completions if c.strip())
    return ImportedEntry(_norm(title), _norm(item["context"]), kept)
