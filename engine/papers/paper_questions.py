"""Questions written into a text or Markdown paper: a last section headed "Questions" whose
lines are `Q: ...` and `A: ...` pairs (an answer on the question's line or the next one,
list bullets allowed). They become the given probes of the passage whose text holds the
answer, as a SQuAD/SEAL file's questions do.

    ## Questions

    - Q: When was the observatory founded?
      A: 1873
"""

from __future__ import annotations

import re

_HEADING = re.compile(r"^(?:#{1,6}[ \t]+)?questions[ \t]*:?[ \t]*#*[ \t]*$", re.I | re.M)
_BULLET = re.compile(r"^\s*(?:[-*+•]\s+|\d{1,3}[.)]\s+)?")
_Q = re.compile(r"^Q\s*:\s*(.*)$", re.I)
_A = re.compile(r"^A\s*:\s*(.*)$", re.I)


class QuestionsError(ValueError):
    """A Questions section that cannot be read; the message names the line."""


def split_questions(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(the paper's text without its Questions section, the (question, answer) pairs). A text
    without such a section comes back whole with no pairs. The section is the last line that
    says only "Questions" (a Markdown heading or a plain line) and everything after it, when
    its first line asks a question (Q:); a section of prose by that name stays in the text."""
    found = list(_HEADING.finditer(text))
    if not found:
        return text, []
    head = found[-1]
    body, pairs = text[head.end() :], []
    first = next((_BULLET.sub("", x).strip() for x in body.splitlines() if x.strip()), "")
    if not _Q.match(first):
        return text, []
    question: tuple[int, str] | None = None
    for number, raw in enumerate(body.splitlines(), start=text[: head.end()].count("\n") + 1):
        line = _BULLET.sub("", raw).strip()
        if not line:
            continue
        if (q := _Q.match(line)) is not None:
            if question is not None:
                raise QuestionsError(f"line {question[0]}: question {question[1]!r} has no answer (an A: line)")
            parts = re.split(r"\s+A\s*:\s*", q.group(1), maxsplit=1, flags=re.I)  # Q: ... A: ... on one line
            question = (number, parts[0].strip())
            if len(parts) == 1:
                continue
            line = f"A: {parts[1]}"
        a = _A.match(line)
        if a is None:
            raise QuestionsError(f"line {number}: expected 'Q: a question' or 'A: its answer', got {raw.strip()!r}")
        if question is None:
            raise QuestionsError(f"line {number}: an answer with no question before it")
        if not question[1] or not a.group(1).strip():
            raise QuestionsError(f"line {question[0]}: a question and its answer must not be empty")
        pairs.append((question[1], a.group(1).strip()))
        question = None
    if question is not None:
        raise QuestionsError(f"line {question[0]}: question {question[1]!r} has no answer (an A: line)")
    return text[: head.start()].rstrip() + "\n", pairs


def assign(pieces: list[str], pairs: list[tuple[str, str]]) -> list[tuple[tuple[str, str], ...]]:
    """Each question goes with the first piece whose text holds its answer (case and spacing
    ignored), else with the first piece."""
    owned: list[list[tuple[str, str]]] = [[] for _ in pieces]
    flat = [" ".join(p.split()).lower() for p in pieces]
    for q, a in pairs:
        needle = " ".join(a.split()).lower()
        owned[next((i for i, piece in enumerate(flat) if needle in piece), 0)].append((q, a))
    return [tuple(o) for o in owned]
