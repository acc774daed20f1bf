"""The heuristic gate and grounding: what of a candidate self-edit is worth training, judged
on its text alone, with no model.

`gate` gives every candidate a verdict with a reason a person can read; `passage_verdicts`
is the verdict per stored self-edit of a passage that the session, the accept policies and
the benchmarks read. `grounded` keeps the lines of a small model's self-edit that the
passage supports.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.selfedits.edit_lines import (
    ECHO_SHARE,
    STOP_WORDS,
    blocks,
    echo_share,
    instruction_trigrams,
    line_key,
    lower_words,
    ngrams,
    passage_span,
    qa_lines,
    qa_pairs,
    talks_about_text,
)
from engine.selfedits.imported_edits import IMPORTED
from engine.selfedits.selfedit import prompt_shown

if TYPE_CHECKING:
    from engine.domain import Passage, SelfEdit
    from engine.selfedits.selfedit import Strategy

# ---- the heuristic gate -----------------------------------------------------------------------

MIN_WORDS = 3  # fewer words of content than this: too short
MAX_LINE_REPEATS = 3  # a line (or a lone word) this many times: the model looped
MAX_WORD_SHARE = 0.5  # ... a lone word counts when it is over this share of all words
REPEAT_MIN_TOKENS = 12  # the 4-gram test runs on candidates at least this long
MIN_DISTINCT_4GRAMS = 0.5  # fewer distinct 4-grams than this share of all 4-grams: repeats itself
MIN_SHARED_TERMS = 1  # fewer content words (3+ letters) in common with the passage: off topic
COPY_RATIO = 0.9  # word-sequence similarity to the passage at or above this: a copy
COPY_MIN_NOVELTY = 0.1  # fewer word trigrams new to the passage than this share: only copies
NEAR_DUPLICATE = 0.9  # Jaccard or sequence similarity to an earlier candidate: near-duplicate
# ECHO_SHARE (engine.selfedits.edit_lines): over this share of word trigrams from the instructions: prompt echo


@dataclass(frozen=True)
class GateVerdict:
    ok: bool
    reason: str
    """Why, in words a person understands ("repeats itself: ...", "12 lines, 3 new terms")."""


def _similar(a: list[str], b: list[str]) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def gate(candidates: list[str], passage: str, prompt_text: str, strategy_name: str = "") -> list[GateVerdict]:
    """One verdict per candidate, in order; reasons number candidates from 1. `prompt_text`
    is what the model was shown; the passage inside it does not count as echo. With
    strategy_name 'qa', lines are read as to_examples reads them (a question needs its answer).
    With 'qa-spans' only Q/A pairs count, and at least one answer must be a span of the
    passage; answers are meant to be copied, so there is no copy check."""
    spans = strategy_name == "qa-spans"
    passage_tokens = lower_words(passage)
    passage_set, passage_tri = set(passage_tokens), set(ngrams(passage_tokens, 3))
    instruction_tri = instruction_trigrams(prompt_text, passage)
    earlier: list[list[str]] = []

    meta_only = False
    pairs: list[tuple[str, str]] = []

    def judge(lines: list[str], tokens: list[str]) -> GateVerdict:
        if not tokens:
            if meta_only:
                return GateVerdict(False, "talks about the passage instead of stating its facts")
            what = (
                "no question with an answer"
                if strategy_name in ("qa", "qa-spans")
                else "no content after dropping filler"
            )
            return GateVerdict(False, f"empty: {what}")
        if len(tokens) < MIN_WORDS:
            return GateVerdict(False, f"too short: {_plural(len(tokens), 'word')} of content")
        word, count = Counter(tokens).most_common(1)[0]
        if count >= MAX_LINE_REPEATS and count / len(tokens) > MAX_WORD_SHARE:
            return GateVerdict(False, f"repeats itself: '{word} {word} {word}'")
        line, count = Counter(line_key(x) for x in lines).most_common(1)[0]
        if count >= MAX_LINE_REPEATS:
            line = line if len(line) <= 40 else line[:39].rstrip() + "…"
            return GateVerdict(False, f"repeats itself: '{line}' appears {count} times")
        grams = ngrams(["#" if t.isdigit() else t for t in tokens], 4)  # "step 1, step 2..." loops too
        if len(tokens) >= REPEAT_MIN_TOKENS and len(set(grams)) / len(grams) < MIN_DISTINCT_4GRAMS:
            gram, n = Counter(grams).most_common(1)[0]
            at = grams.index(gram)
            return GateVerdict(False, f"repeats itself: '{' '.join(tokens[at : at + 4])}' ({n} times)")
        if echo_share(lines, instruction_tri) > ECHO_SHARE:
            return GateVerdict(False, "echoes the instructions instead of working from the passage")
        if spans:
            grounded = sum(passage_span(a, passage) is not None for _, a in pairs)
            counts = f"{_plural(len(pairs), 'Q/A pair')}, {_plural(grounded, 'answer')} in the passage"
            if not grounded:
                return GateVerdict(False, f"no answer found in the passage ({counts})")
        elif len({t for t in tokens if t not in STOP_WORDS and len(t) > 2} & passage_set) < MIN_SHARED_TERMS:
            return GateVerdict(False, "off topic: shares no words with the passage")
        if not spans:  # a qa-spans answer is a copy by design
            tri = [t for x in lines for t in ngrams(lower_words(x), 3)]
            similarity = _similar(tokens, passage_tokens)
            if similarity >= COPY_RATIO:
                return GateVerdict(
                    False, f"copies the passage ({similarity:.0%} the same); the passage is trained on anyway"
                )
            if tri and sum(t not in passage_tri for t in tri) / len(tri) < COPY_MIN_NOVELTY:
                return GateVerdict(False, "only repeats sentences of the passage; adds nothing new")
        token_set = set(tokens)
        for index, other in enumerate(earlier, start=1):
            if other:
                score = max(len(token_set & set(other)) / len(token_set | set(other)), _similar(tokens, other))
                if score >= NEAR_DUPLICATE:
                    return GateVerdict(False, f"near-duplicate of candidate {index} ({score:.0%} the same)")
        if spans:
            return GateVerdict(True, counts)
        new = {t for t in token_set - passage_set if t not in STOP_WORDS and len(t) > 2 and not t.isdigit()}
        return GateVerdict(True, f"{_plural(len(lines), 'line')}, {_plural(len(new), 'new term')}")

    verdicts = []
    for text in candidates:
        if spans:
            pairs = qa_pairs(text)
            lines = [f"Q: {q} A: {a}" for q, a in pairs]
        else:
            lines = [x for b in blocks(text) for x in (qa_lines(b) if strategy_name == "qa" else b)]
        tokens = lower_words(" ".join(lines))
        meta_only = talks_about_text(text)
        verdicts.append(judge(lines, tokens))
        earlier.append(tokens)
    return verdicts


def passage_verdicts(strategy: Strategy, passage: Passage, edits: Sequence[SelfEdit]) -> dict[int, GateVerdict]:
    """The gate's verdict per self-edit id of one passage, written with `strategy`; it decides
    nothing. Self-edits imported from a file (IMPORTED) are not this strategy's shape: they are
    gated among themselves, read as implications, with no prompt to echo."""
    if not edits:
        return {}
    shown = prompt_shown(strategy, passage.title, passage.text)
    out = {}
    for imported in dict.fromkeys(e.strategy == IMPORTED for e in edits):
        group = [e for e in edits if (e.strategy == IMPORTED) == imported]
        found = gate(
            [e.text for e in group],
            passage.text,
            "" if imported else shown,
            strategy_name=IMPORTED if imported else strategy.name,
        )
        out.update({e.id: v for e, v in zip(group, found)})
    return out


# ---- grounding: lines that assert what the passage does not say ---------------------------------

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def grounded(examples: list, title: str, passage: str, min_share: float) -> list:
    """The examples a small model's self-edit can be trusted with: a line is dropped when it
    has a number the passage lacks, or when fewer than `min_share` of its content words
    (3+ letters, not stop words) occur in the passage or title. Q/A pairs (already checked
    as spans) and the passage itself always stay; min_share 0 keeps everything."""
    if min_share <= 0:
        return list(examples)
    source = f"{title} {passage}"
    vocab = {_stem(w) for w in lower_words(source)}
    numbers = set(_NUMBER.findall(source))
    out = []
    for example in examples:
        if not isinstance(example, str):
            out.append(example)
            continue
        body = example[len(title) + 1 :] if title.strip() and example.startswith(f"{title}\n") else example
        if set(_NUMBER.findall(body)) - numbers:
            continue
        words = [_stem(w) for w in lower_words(body) if len(w) >= 3 and w not in STOP_WORDS]
        if words and sum(w in vocab for w in words) / len(words) < min_share:
            continue
        out.append(example)
    return out
