"""Strategies (prompts) -> candidate self-edits -> training examples, and the heuristic gate.

No model here: the caller renders `build_messages`, samples candidates with its generator,
then turns each accepted candidate into training text with `to_examples`. `gate` judges
candidates on their text alone and gives every verdict a reason a person can read.
"""

from __future__ import annotations

import difflib
import json
import re
import string
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from engine.evaluate import probe_prompt


class StrategyError(ValueError):
    """A strategy or a strategy file cannot be used; the message is one line naming the problem."""


PLACEHOLDERS = ("title", "passage")


@dataclass(frozen=True)
class Strategy:
    """A way of asking the model for a self-edit."""

    name: str
    description: str
    system: str
    """System message, used verbatim (no placeholders); empty means none is sent."""
    user_template: str
    """User message; `{title}` and `{passage}` are filled in, `{{`/`}}` are literal braces."""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise StrategyError("empty strategy name")
        try:
            parsed = [
                (f, spec, conv) for _, f, spec, conv in string.Formatter().parse(self.user_template) if f is not None
            ]
        except ValueError:
            raise StrategyError("user template has an unmatched brace (write {{ or }} for a literal one)") from None
        fields = [f for f, _, _ in parsed]
        for f, spec, conv in parsed:
            if f not in PLACEHOLDERS:
                raise StrategyError(f"user template has unknown placeholder {{{f}}} (only {{title}} and {{passage}})")
            if spec or conv:  # "{passage:>999999999}" would build a gigabyte prompt
                written = f + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
                raise StrategyError(f"user template has {{{written}}}: no conversions or format specs; write {{{f}}}")
        if "passage" not in fields:
            raise StrategyError("user template lacks {passage}")


_SYSTEM = "You help a student learn a passage. Answer in plain sentences, one per line."
_HEAD = "Title: {title}\n\n{passage}\n\n"

STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            "implications",
            "what follows from the passage, one short sentence per line",
            _SYSTEM,
            _HEAD + "What follows from this passage? Write five implications or consequences "
            "of it, one short sentence per line. Do not copy the passage.",
        ),
        Strategy(
            "implications-long",
            "a longer, more detailed list of what follows",
            _SYSTEM,
            _HEAD + "Write a long, detailed list of everything that follows from this passage: "
            "implications, consequences and facts it implies. Write at least ten lines, one "
            "complete sentence per line. Name things in full instead of writing 'it'. "
            "Do not copy the passage.",
        ),
        Strategy(
            "rewrites",
            "the passage retold several ways, separated by --- lines",
            "You retell passages in new words without losing any fact.",
            _HEAD + "Rewrite this passage three times, each time with different words and a "
            "different order. Keep every fact. Put a line with only --- between the rewrites.",
        ),
        Strategy(
            "qa",
            "question-answer pairs about the passage, one pair per line",
            "You write quiz questions with short answers.",
            _HEAD + "Write questions about this passage with their answers. Put each pair on "
            "one line like this:\nQ: a question? A: its answer",
        ),
        Strategy(
            "qa-spans",
            "short questions whose answers are phrases copied from the passage",
            "You write quiz questions with short answers.",
            _HEAD + "Write five short questions about this passage. Answer each with a few words "
            "copied exactly from the passage. Write each pair on two lines like this:\n"
            "Q: a question?\nA: words from the passage",
        ),
    )
}
"""The built-in strategies (SEAL's prompt variants, worded for a small instruction model), plus
`qa-spans`: Q/A pairs whose answers are checked spans of the passage, trained in the probe's
own question/answer shape with the loss on the answer."""


def load_strategies(path: str | Path) -> dict[str, Strategy]:
    """Read strategies from a JSON or TOML file (by suffix: .toml is TOML, else JSON):
    `{"name": {"description": ..., "system": ..., "user": "... {passage} ..."}}`."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = (
            "no such file"
            if isinstance(exc, FileNotFoundError)
            else "not UTF-8 text"
            if isinstance(exc, UnicodeDecodeError)
            else f"cannot read ({exc.strerror})"
        )
        raise StrategyError(f"{path}: {why}") from None
    try:
        data = tomllib.loads(raw) if path.suffix.lower() == ".toml" else json.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise StrategyError(f"{path}: invalid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise StrategyError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except (RecursionError, ValueError) as exc:  # too deep, or an integer over Python's digit limit
        why = "nested too deeply" if isinstance(exc, RecursionError) else f"not usable ({str(exc).partition(';')[0]})"
        raise StrategyError(f"{path}: {'TOML' if path.suffix.lower() == '.toml' else 'JSON'} {why}") from None
    if not isinstance(data, dict) or not data:
        raise StrategyError(
            f'{path}: expected a table of strategies like {{"name": {{"user": "... {{passage}} ..."}}}}'
        )
    out = {}
    for name, spec in data.items():
        label = f"{path}: strategy {name!r}"
        if not name.strip():
            raise StrategyError(f"{path}: empty strategy name")
        if not isinstance(spec, dict):
            raise StrategyError(f"{label}: expected a table with description, system and user")
        unknown = sorted(set(spec) - {"description", "system", "user"})
        if unknown:
            raise StrategyError(f"{label}: unknown key(s) {', '.join(unknown)} (expected description, system, user)")
        if "user" not in spec:
            raise StrategyError(f"{label}: missing 'user' (the prompt template)")
        if bad := [key for key, value in spec.items() if not isinstance(value, str)]:
            raise StrategyError(f"{label}: '{bad[0]}' must be text")
        try:
            out[name] = Strategy(name, spec.get("description", ""), spec.get("system", _SYSTEM), spec["user"])
        except StrategyError as exc:
            raise StrategyError(f"{label}: {exc}") from None
    return out


def resolve_strategy(name_or_path: str, base: Path | None = None) -> Strategy:
    """A built-in name, `path:name`, or the path of a file holding a single strategy; a
    relative path is looked for under `base` first (a session's copy in its home)."""
    if name_or_path in STRATEGIES:
        return STRATEGIES[name_or_path]
    if (
        base is not None
        and not Path(name_or_path).is_absolute()
        and (Path(base) / name_or_path.rpartition(":")[0 if ":" in name_or_path else 2]).is_file()
    ):
        name_or_path = str(Path(base) / name_or_path)
    file, sep, name = name_or_path.rpartition(":")
    if sep and file and Path(file).expanduser().is_file():
        found = load_strategies(Path(file).expanduser())
        if name not in found:
            raise StrategyError(f"{file}: no strategy {name!r}; it has {', '.join(found)}")
        return found[name]
    path = Path(name_or_path).expanduser()
    if path.is_file():
        found = load_strategies(path)
        if len(found) != 1:
            raise StrategyError(
                f"{path}: holds {len(found)} strategies ({', '.join(found)}); pick one with {path}:NAME"
            )
        return next(iter(found.values()))
    target = file if sep and file else name_or_path
    if Path(target).suffix.lower() in (".json", ".toml"):
        raise StrategyError(f"{target}: no such file")
    raise StrategyError(f"unknown strategy {name_or_path!r}; available: {', '.join(STRATEGIES)} (or a JSON/TOML file)")


def build_messages(strategy: Strategy, title: str, passage: str) -> list[dict]:
    """Chat messages (system + user) for llama.cpp's create_chat_completion."""
    user = strategy.user_template.format(title=title, passage=passage)
    system = [{"role": "system", "content": strategy.system}] if strategy.system else []
    return system + [{"role": "user", "content": user}]


# ---- candidate text -> training examples ---------------------------------------------------

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


def _clean_line(line: str) -> str:
    return _LABEL.sub("", _BULLET.sub("", line.replace("**", "").strip())).strip()


def _is_header(line: str) -> bool:
    return (
        line.startswith("# ")
        or line.startswith("##")
        or bool(_LABEL_ONLY.match(line))
        or (line.endswith(":") and len(line.split()) <= HEADER_MAX_WORDS)
    )


def _blocks(edit_text: str) -> list[list[str]]:
    """Cleaned content lines of each `---`-separated block, filler and headers dropped."""
    out = []
    for chunk in _SEPARATOR.split(edit_text.replace("\r\n", "\n")):
        lines = [x for x in map(_clean_line, chunk.split("\n")) if re.search(r"\w", x)]
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


def _qa_lines(lines: list[str]) -> list[str]:
    """Join question/answer pairs (same line or consecutive lines) into 'Q: ... A: ...'."""
    return [a if q is None else f"Q: {q} A: {a}" for q, a in _qa_items(lines)]


def _qa_pairs(edit_text: str) -> list[tuple[str, str]]:
    """Every question with its answer in a self-edit; lines that are no Q/A pair are dropped."""
    return [(q, a) for block in _blocks(edit_text) for q, a in _qa_items(block) if q is not None]


MAX_SPAN_WORDS = 12
"""A `qa-spans` answer longer than this is no short span of the passage; it is dropped."""
_SPAN_EDGES = re.compile(r"^[\s\"'“”‘’`(]+|[\s\"'“”‘’`).,;:!?]+$")


def passage_span(answer: str, passage: str) -> str | None:
    """The answer as the passage writes it, when it is a short span of the passage: matched
    case-insensitively on whole words, whitespace normalised, outer quotes and trailing
    punctuation ignored. None for an answer not in the passage, too long, or of stop words only."""
    words = _SPAN_EDGES.sub("", answer).split()
    if not 1 <= len(words) <= MAX_SPAN_WORDS or all(t in _STOP for t in _words(" ".join(words))):
        return None
    pattern = r"\s+".join(map(re.escape, words))
    pattern = (r"(?<!\w)" if words[0][0].isalnum() else "") + pattern + (r"(?!\w)" if words[-1][-1].isalnum() else "")
    found = re.search(pattern, passage, re.I)
    return " ".join(found.group().split()) if found else None


def _key(text: str) -> str:
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
    instruction_tri = _instruction_trigrams(builtin.user_template, passage) if builtin else set()
    last = titled(passage.strip())
    if strategy_name == "qa-spans":
        asked, pairs = set(), []
        for question, answer in _qa_pairs(edit_text):
            span = passage_span(answer, passage)
            if (
                span
                and _key(question) not in asked
                and _echo_share([f"{question} {answer}"], instruction_tri) <= ECHO_SHARE
            ):
                asked.add(_key(question))
                pairs.append((probe_prompt(title, question), f" {span}"))
        return pairs + [last]
    seen = {_key(last)}
    out: list[str | tuple[str, str]] = []
    for block in _blocks(edit_text):
        for line in _qa_lines(block) if strategy_name == "qa" else block:
            example = titled(line)
            if _key(example) not in seen and _echo_share([line], instruction_tri) <= ECHO_SHARE:
                seen.add(_key(example))
                out.append(example)
    return out + [last]


def repeat_passage(examples: list, repeats: int) -> list:
    """Training examples with the last one, the passage itself (to_examples and a session's
    examples put it last), repeated `repeats` times (TrainConfig.passage_repeats)."""
    return examples[:-1] + examples[-1:] * repeats


# ---- the heuristic gate -----------------------------------------------------------------------

MIN_WORDS = 3  # fewer words of content than this: too short
MAX_LINE_REPEATS = 3  # a line (or a lone word) this many times: the model looped
MAX_WORD_SHARE = 0.5  # ... a lone word counts when it is over this share of all words
REPEAT_MIN_TOKENS = 12  # the 4-gram test runs on candidates at least this long
MIN_DISTINCT_4GRAMS = 0.5  # fewer distinct 4-grams than this share of all 4-grams: repeats itself
ECHO_SHARE = 0.5  # over this share of word trigrams from the instructions: prompt echo
MIN_SHARED_TERMS = 1  # fewer content words (3+ letters) in common with the passage: off topic
COPY_RATIO = 0.9  # word-sequence similarity to the passage at or above this: a copy
COPY_MIN_NOVELTY = 0.1  # fewer word trigrams new to the passage than this share: only copies
NEAR_DUPLICATE = 0.9  # Jaccard or sequence similarity to an earlier candidate: near-duplicate

_STOP = frozenset(
    "the a an and or but of to in on at by for with from as is are was were be been being it its "
    "this that these those which who whom what when where why how not no so than then there their "
    "they them he she his her we our you your i can could will would may might must also has have "
    "had do does did into about over after before more most such other some any all each".split()
)


@dataclass(frozen=True)
class GateVerdict:
    ok: bool
    reason: str
    """Why, in words a person understands ("repeats itself: ...", "12 lines, 3 new terms")."""


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def _similar(a: list[str], b: list[str]) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _instruction_trigrams(prompt_text: str, passage: str) -> set[tuple[str, ...]]:
    """Word trigrams of the instructions: the prompt without the passage's own wording."""
    passage_tri = set(_ngrams(_words(passage), 3))
    instructions = prompt_text.replace(passage, " ") if passage else prompt_text
    return set(_ngrams(_words(instructions), 3)) - passage_tri


def _echo_share(lines: list[str], instruction_tri: set) -> float:
    tri = [t for x in lines for t in _ngrams(_words(x), 3)]
    return sum(t in instruction_tri for t in tri) / len(tri) if tri else 0.0


def gate(candidates: list[str], passage: str, prompt_text: str, strategy_name: str = "") -> list[GateVerdict]:
    """One verdict per candidate, in order; reasons number candidates from 1. `prompt_text`
    is what the model was shown; the passage inside it does not count as echo. With
    strategy_name 'qa', lines are read as to_examples reads them (a question needs its answer).
    With 'qa-spans' only Q/A pairs count, and at least one answer must be a span of the
    passage; answers are meant to be copied, so there is no copy check."""
    spans = strategy_name == "qa-spans"
    passage_tokens = _words(passage)
    passage_set, passage_tri = set(passage_tokens), set(_ngrams(passage_tokens, 3))
    instruction_tri = _instruction_trigrams(prompt_text, passage)
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
        line, count = Counter(_key(x) for x in lines).most_common(1)[0]
        if count >= MAX_LINE_REPEATS:
            line = line if len(line) <= 40 else line[:39].rstrip() + "…"
            return GateVerdict(False, f"repeats itself: '{line}' appears {count} times")
        grams = _ngrams(["#" if t.isdigit() else t for t in tokens], 4)  # "step 1, step 2..." loops too
        if len(tokens) >= REPEAT_MIN_TOKENS and len(set(grams)) / len(grams) < MIN_DISTINCT_4GRAMS:
            gram, n = Counter(grams).most_common(1)[0]
            at = grams.index(gram)
            return GateVerdict(False, f"repeats itself: '{' '.join(tokens[at : at + 4])}' ({n} times)")
        if _echo_share(lines, instruction_tri) > ECHO_SHARE:
            return GateVerdict(False, "echoes the instructions instead of working from the passage")
        if spans:
            grounded = sum(passage_span(a, passage) is not None for _, a in pairs)
            counts = f"{_plural(len(pairs), 'Q/A pair')}, {_plural(grounded, 'answer')} in the passage"
            if not grounded:
                return GateVerdict(False, f"no answer found in the passage ({counts})")
        elif len({t for t in tokens if t not in _STOP and len(t) > 2} & passage_set) < MIN_SHARED_TERMS:
            return GateVerdict(False, "off topic: shares no words with the passage")
        if not spans:  # a qa-spans answer is a copy by design
            tri = [t for x in lines for t in _ngrams(_words(x), 3)]
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
        new = {t for t in token_set - passage_set if t not in _STOP and len(t) > 2 and not t.isdigit()}
        return GateVerdict(True, f"{_plural(len(lines), 'line')}, {_plural(len(new), 'new term')}")

    verdicts = []
    for text in candidates:
        if spans:
            pairs = _qa_pairs(text)
            lines = [f"Q: {q} A: {a}" for q, a in pairs]
        else:
            lines = [x for b in _blocks(text) for x in (_qa_lines(b) if strategy_name == "qa" else b)]
        tokens = _words(" ".join(lines))
        meta_only = any(_META.match(_clean_line(x)) for x in text.split("\n"))
        verdicts.append(judge(lines, tokens))
        earlier.append(tokens)
    return verdicts


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
    vocab = {_stem(w) for w in _words(source)}
    numbers = set(_NUMBER.findall(source))
    out = []
    for example in examples:
        if not isinstance(example, str):
            out.append(example)
            continue
        body = example[len(title) + 1 :] if title.strip() and example.startswith(f"{title}\n") else example
        if set(_NUMBER.findall(body)) - numbers:
            continue
        words = [_stem(w) for w in _words(body) if len(w) >= 3 and w not in _STOP]
        if words and sum(w in vocab for w in words) / len(words) < min_share:
            continue
        out.append(example)
    return out
