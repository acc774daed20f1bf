"""A self-edit's text -> its lines -> training examples, as SEAL makes them; no model here.

`to_examples` turns one candidate into the texts an update trains on. The gate
(engine.selfedits.gate) reads candidates with the same helpers, so a line counts the same way in
both: split on `---` lines, bullets, labels, filler and lines about the text dropped,
question/answer pairs kept together.
"""

from __future__ import annotations

import re

from engine.scores.evaluate import probe_prompt
from engine.selfedits.selfedit import STRATEGIES

_SEPARATOR = re.compile(r"^[ \t]*-{3,}[ \t]*$", re.M)
_BULLET = re.compile(r"^\s*(?:[-*•+]\s+|\(?\d{1,3}[.)](?=\s|[^\W\d])\s*|[a-zA-Z]\)\s+)")
_LABEL = re.compile(r"^(?:implication|consequence|rewrite|version|fact|point)\s*#?\d*\s*[:.)-]\s+(?=\S)", re.I)
_LABEL_ONLY = re.compile(r"^(?:implication|consequence|rewrite|version|fact|point)\s*#?\d*\W*$", re.I)
_FILLER = re.compile(
    r"^(?:sure|certainly|of course|okay|ok|absolutely|here (?:is|are)|below (?:is|are)"
    r"|i can|i will|i'll|let me)\b",
    re.I,
)
_CLOSING = re.compile(r"^(?:i hope|hope this|let me know|feel free)\b", re.I)
_QUESTION = re.compile(r"^(?:q|question)\s*\d*\s*[:.]\s*(.*)$", re.I)
_ANSWER = re.compile(r"^(?:[Aa]|[B-D]|[Aa]nswer|ANSWER)\s*\d*\s*:\s*(.*)$")
_ANSWER_INLINE = re.compile(r"\s(?:[Aa]|[B-D]|[Aa]nswer|ANSWER)\s*\d*\s*:\s*")
_META = re.compile(
    r"^(?:the|this|that|in the|in this)\s+(?:original\s+|given\s+|above\s+)?"
    r"(?:passage|text|sentence|article|paragraph|excerpt|author)\b",
    re.I,
)
"""A line about the text rather than about its subject ("The passage offers..."): small
models write many; they teach the model to talk about passages, not the facts."""
HEADER_MAX_WORDS = 12
"""A line ending in ':' with at most this many words introduces a list; it is not content."""

ECHO_SHARE = 0.5
"""Over this share of word trigrams from the instructions, a line (or a candidate, for the
gate) echoes the prompt instead of working from the passage."""

# ---- words -------------------------------------------------------------------------------------

STOP_WORDS = frozenset(
    "the a an and or but of to in on at by for with from as is are was were be been being it its "
    "this that these those which who whom what when where why how not no so than then there their "
    "they them he she his her we our you your i can could will would may might must also has have "
    "had do does did into about over after before more most such other some any all each".split()
)


def lower_words(text: str) -> list[str]:
    """The text's words, lower-cased (digits count; an apostrophe's suffix stays on its word)."""
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def instruction_trigrams(prompt_text: str, passage: str) -> set[tuple[str, ...]]:
    """Word trigrams of the instructions: the prompt without the passage's own wording."""
    passage_tri = set(ngrams(lower_words(passage), 3))
    instructions = prompt_text.replace(passage, " ") if passage else prompt_text
    return set(ngrams(lower_words(instructions), 3)) - passage_tri


def echo_share(lines: list[str], instruction_tri: set) -> float:
    """The share of the lines' word trigrams that come from the instructions."""
    tri = [t for x in lines for t in ngrams(lower_words(x), 3)]
    return sum(t in instruction_tri for t in tri) / len(tri) if tri else 0.0


# ---- lines ------------------------------------------------------------------------------------


def clean_line(line: str) -> str:
    return _LABEL.sub("", _BULLET.sub("", line.replace("**", "").strip())).strip()


def talks_about_text(edit_text: str) -> bool:
    """Whether any line of a self-edit is about the text rather than about its subject."""
    return any(_META.match(clean_line(x)) for x in edit_text.split("\n"))


def _is_header(line: str) -> bool:
    return (
        line.startswith("# ")
        or line.startswith("##")
        or bool(_LABEL_ONLY.match(line))
        or (line.endswith(":") and len(line.split()) <= HEADER_MAX_WORDS)
    )


def blocks(edit_text: str) -> list[list[str]]:
    """Cleaned content lines of each `---`-separated block, filler and headers dropped."""
    out = []
    for chunk in _SEPARATOR.split(edit_text.replace("\r\n", "\n")):
        lines = [x for x in map(clean_line, chunk.split("\n")) if re.search(r"\w", x)]
        while lines and _FILLER.match(lines[0]):
            lines.pop(0)
        while lines and _CLOSING.match(lines[-1]):
            lines.pop()
        if lines := [x for x in lines if not _is_header(x) and not _META.match(x)]:
            out.append(lines)
    return out


def _qa_items(lines: list[str]) -> list[tuple[str | None, str]]:
    """Question/answer pairs (same line or consecutive lines) as (question, answer); a line
    that is no question comes as (None, line), a leading answer label dropped."""
    out: list[tuple[str | None, str]] = []
    i = 0
    while i < len(lines):
        q = _QUESTION.match(lines[i])
        if q is None:
            a = _ANSWER.match(lines[i])
            out.append((None, a.group(1) if a else lines[i]))
            i += 1
            continue
        parts = _ANSWER_INLINE.split(_BULLET.sub("", q.group(1)), maxsplit=1)
        if len(parts) == 1 and i + 1 < len(lines) and (a := _ANSWER.match(lines[i + 1])):
            parts, i = [parts[0], a.group(1)], i + 1
        if len(parts) == 2 and parts[0].strip() and parts[1].strip():
            answer = _ANSWER.sub(r"\1", parts[1].strip())  # "A: A: ..." from a stuttering model
            out.append((parts[0].strip(), answer))
        i += 1  # a question with no answer teaches nothing; it is dropped
    return [(q, a) for q, a in out if a.strip()]


def qa_lines(lines: list[str]) -> list[str]:
    """Join question/answer pairs (same line or consecutive lines) into 'Q: ... A: ...'."""
    return [a if q is None else f"Q: {q} A: {a}" for q, a in _qa_items(lines)]


def qa_pairs(edit_text: str) -> list[tuple[str, str]]:
    """Every question with its answer in a self-edit; lines that are no Q/A pair are dropped."""
    return [(q, a) for block in blocks(edit_text) for q, a in _qa_items(block) if q is not None]


MAX_SPAN_WORDS = 12
"""A `qa-spans` answer longer than this is no short span of the passage; it is dropped."""
_SPAN_EDGES = re.compile(r"^[\s\"'“”‘’`(]+|[\s\"'“”‘’`).,;:!?]+$")


def passage_span(answer: str, passage: str) -> str | None:
    """The answer as the passage writes it, when it is a short span of the passage: matched
    case-insensitively on whole words, whitespace normalised, outer quotes and trailing
    punctuation ignored. None for an answer not in the passage, too long, or of stop words only."""
    words = _SPAN_EDGES.sub("", answer).split()
    if not 1 <= len(words) <= MAX_SPAN_WORDS or all(t in STOP_WORDS for t in lower_words(" ".join(words))):
        return None
    pattern = r"\s+".join(map(re.escape, words))
    pattern = (r"(?<!\w)" if words[0][0].isalnum() else "") + pattern + (r"(?!\w)" if words[-1][-1].isalnum() else "")
    found = re.search(pattern, passage, re.I)
    return " ".join(found.group().split()) if found else None


def line_key(text: str) -> str:
    """A line as repeats are told apart: lower case, spaces collapsed, end punctuation dropped."""
    return re.sub(r"\s+", " ", text.lower()).strip().rstrip(".!?;,")


def to_examples(edit_text: str, title: str, passage: str, strategy_name: str) -> list[str | tuple[str, str]]:
    """Training examples from one self-edit, as SEAL makes them: split on `---` lines, one
    text per line (per Q/A pair for `qa`), bullets and filler dropped, each prefixed with
    the title, duplicates dropped, and the passage itself always last. For a built-in
    strategy, lines that repeat its own instructions are dropped too.

    For `qa-spans` each Q/A pair whose answer is a span of the passage (see `passage_span`)
    becomes a (prompt, completion) pair in the probe's shape, `probe_prompt(title, question)`
    and " " + the span as the passage writes it, so the loss falls on the answer alone; pairs
    with an answer not in the passage, and repeated questions, are dropped."""

    def titled(text: str) -> str:
        return f"{title}\n{text}" if title.strip() else text

    builtin = STRATEGIES.get(strategy_name)
    instruction_tri = instruction_trigrams(builtin.user_template, passage) if builtin else set()
    last = titled(passage.strip())
    if strategy_name == "qa-spans":
        asked, pairs = set(), []
        for question, answer in qa_pairs(edit_text):
            span = passage_span(answer, passage)
            if (
                span
                and line_key(question) not in asked
                and echo_share([f"{question} {answer}"], instruction_tri) <= ECHO_SHARE
            ):
                asked.add(line_key(question))
                pairs.append((probe_prompt(title, question), f" {span}"))
        return pairs + [last]
    seen = {line_key(last)}
    out: list[str | tuple[str, str]] = []
    for block in blocks(edit_text):
        for line in qa_lines(block) if strategy_name == "qa" else block:
            example = titled(line)
            if line_key(example) not in seen and echo_share([line], instruction_tri) <= ECHO_SHARE:
                seen.add(line_key(example))
                out.append(example)
    return out + [last]
