"""Text into passages: pieces of at most a token budget, and the titles that tell them apart.

No model and no tokenizer: tokens are estimated from words and characters. Pure functions of
their text; a budget under 4 tokens is a ValueError.
"""

from __future__ import annotations

import math
import re


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


def text_headings(text: str) -> list[tuple[int, str]]:
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
