"""Per-passage probe questions, made once when a passage is added and fixed for the session.

Three kinds (see engine.domain.Probe): `given` pairs that came with the input, `cloze`
questions cut from the passage itself (no model), and `qa` pairs the model writes about the
passage. Nothing here calls a model: for `qa` the session renders `qa_probe_messages`,
generates, and reads the reply with `parse_qa_pairs`.

Probes are scored closed book with "Topic: {title}\\nQuestion: {question}\\nAnswer:" and the
gold answer, so a cloze question carries its whole sentence and the blank is a short span.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from engine.vocabulary import Choice, Vocabulary

BLANK = "____"
MAX_ANSWER_WORDS = 30
"""Model-written answers longer than this are dropped: they cannot be scored as a short span."""
MAX_QUESTION_WORDS = 40
"""Longer sentences are cut to a window of words around the blank."""

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_NUMBER = re.compile(
    rf"\b\d{{1,2}}\s+{_MONTH}\s+\d{{4}}\b"  # 31 March 1889
    rf"|\b{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}\b"  # March 31, 1889
    rf"|\b{_MONTH}\s+\d{{4}}\b"  # March 1889
    r"|[$€£]?\b\d(?:[\d,]*\d)?(?:\.\d+)?(?:\s?(?:%|percent\b|per cent\b)"
    r"|\s(?:thousand|million|billion|trillion)\b)?"
)
_CAP = r"[A-Z][\w'’-]*"
_NAME = re.compile(rf"\b{_CAP}(?:\s+(?:(?:of|for|de|du|la|von|van)(?:\s+the)?\s+|and\s+)?{_CAP})+")
"""Capitalized words in a row, joined by "of", "of the", "and", ...: not by a bare "the",
which would let a sentence's opening word run into a name ("Today the Dunmere")."""
_WORD_CAP = re.compile(rf"\b{_CAP}")
_PART = re.compile(r"(?: · | \()\d+/\d+\)?$")
"""The part number ingest gives a passage of a longer paper ("Title · 2/3", "Title · Heading
(1/2)"): not words of the topic, so a number in the passage may still be blanked."""
_OPENER = re.compile(
    r"(?:The|A|An|In|On|At|By|For|From|To|Of|With|Without|Under|Over|Through|Across|Along|Near|Beyond"
    r"|Within|Inside|Outside|Between|Among|Around|Against|Despite|During|After|Before|Since|Until|Unlike"
    r"|Like|Following|According|This|That|These|Those|It|Its|Their|His|Her|Our|My|Your|We|They|He|She|I"
    r"|You|Today|Yesterday|Tomorrow|Tonight|Now|Then|Later|Earlier|Once|Soon|When|While|Where|Although"
    r"|Though|Because|If|As|However|Meanwhile|Also|Still|Yet|But|And|Or|So|Thus|Here|There|Only|Even|Every"
    r"|Each|Some|Many|Most|All|Both|Several|Few|Other|Another|Such|No|Not|Why|How|What|Who|Which|Whose"
    r"|Last|Next|First|Never|Always|Often|Sometimes|Historically|Recently|Originally|Eventually|Finally"
    r"|Initially|Currently|Traditionally|Formerly|Previously|Subsequently|Usually|Generally|Typically"
    r"|Notably|Similarly|Ultimately|Unfortunately|Fortunately|Locally|Mostly|Largely)\s+"
)
"""A sentence's opening word that is not part of a name after it (an article, preposition,
pronoun, conjunction or adverb)."""
_ABBREV = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Mt|Jr|Sr|vs|etc|No|Fig|al|approx|ca|e\.g|i\.e)|\b[A-Z])\.$")
_QA_BULLET = re.compile(r"^\s*(?:[-*•+]\s+|\(?\d{1,3}[.)]\s*)")
_Q = re.compile(r"^(?:q|question)\s*\d*\s*[:.]\s*(.*)$", re.I)
_A = re.compile(r"^(?:[Aa]|[B-D]|[Aa]nswer|ANSWER)\s*\d*\s*:\s*(.*)$")  # small models letter answers B:, C:
_ASKS = re.compile(
    r"\?|^(?:what|who|whom|whose|when|where|which|why|how|is|are|was|were|do|does|did|can"
    r"|could|name|list|give|state)\b",
    re.I,
)
_A_INLINE = re.compile(r"\s(?:[Aa]|[B-D]|[Aa]nswer|ANSWER)\s*\d*\s*:\s*")


def sentences(text: str) -> list[str]:
    """Split text into sentences, not breaking after common abbreviations or initials."""
    out, current = [], ""
    for piece in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
        current = f"{current} {piece}" if current else piece
        if not _ABBREV.search(current):
            out.append(current)
            current = ""
    return out + [current] if current else out


def _spans(sentence: str) -> list[tuple[int, int, str]]:
    """Maskable spans of one sentence as (tier, start, span); lower tiers are better. A name
    that opens the sentence loses its opening words that are not names ("Today", "When")."""
    found = [(0, m.start(), m.group().strip()) for m in _NUMBER.finditer(sentence)]
    for m in _NAME.finditer(sentence):
        start, span = m.start(), m.group()
        while m.start() == 0 and " " in span and (lead := _OPENER.match(span)):
            start, span = start + lead.end(), span[lead.end() :]
            if re.match(r"(?:of|for|de|du|la|von|van|and)\s", span):  # "Most of Europe": no name left
                span = ""
        if not span:
            continue
        tier = 1 if " " in span else 2
        if tier == 1 or start > 0:
            found.append((tier, start, span))
    for m in _WORD_CAP.finditer(sentence):
        if m.start() > 0 and len(m.group()) > 1 and not _OPENER.fullmatch(m.group() + " "):
            found.append((2, m.start(), m.group()))
    kept: list[tuple[int, int, str]] = []
    for tier, start, span in sorted(set(found)):  # better tiers claim their characters first
        if all(start + len(span) <= s or start >= s + len(x) for _, s, x in kept):
            kept.append((tier, start, span))
    return kept


def _usable(span: str, sentence: str, title_words: set[str]) -> bool:
    words = set(re.findall(r"\w+", span.lower()))
    if not words or words <= title_words:
        return False
    return sentence.count(span) == 1  # a span seen twice would give its own answer away


def _question(sentence: str, start: int, span: str) -> str:
    masked = f"{sentence[:start]}{BLANK}{sentence[start + len(span) :]}"
    words = masked.split()
    if len(words) > MAX_QUESTION_WORDS:
        at = next(i for i, w in enumerate(words) if BLANK in w)
        lo = max(0, min(at - MAX_QUESTION_WORDS // 2, len(words) - MAX_QUESTION_WORDS))
        window = words[lo : lo + MAX_QUESTION_WORDS]
        masked = ("… " if lo else "") + " ".join(window) + (" …" if lo + MAX_QUESTION_WORDS < len(words) else "")
    return f"Fill in the blank: {masked}"


def _salient_spans(title: str, text: str, limit: int, min_prefix_words: int = 0) -> list[tuple[str, int, str]]:
    """(sentence, start, span) of up to `limit` salient spans, in passage order: numbers and
    dates first, then multi-word names, then other capitalized words; one per sentence before
    any sentence gets a second; spans found in the title are skipped, and so are spans with
    fewer than `min_prefix_words` words before them in their sentence."""
    if limit <= 0:
        return []
    title_words = set(re.findall(r"\w+", _PART.sub("", title).lower()))
    sents = sentences(text)
    options = [
        [
            (tier, start, span)
            for tier, start, span in _spans(s)
            if _usable(span, s, title_words) and len(s[:start].split()) >= min_prefix_words
        ]
        for s in sents
    ]
    chosen: list[tuple[int, int, str]] = []  # (sentence index, start, span)
    used: set[str] = set()
    while len(chosen) < limit and any(options):  # one round = at most one more span per sentence
        picks = []
        for i, opts in enumerate(options):
            while opts and opts[0][2].lower() in used:
                opts.pop(0)
            if opts:
                picks.append((opts[0][0], i, *opts.pop(0)[1:]))
        for _, i, start, span in sorted(picks):
            if len(chosen) < limit and span.lower() not in used:
                chosen.append((i, start, span))
                used.add(span.lower())
    return [(sents[i], start, span) for i, start, span in sorted(chosen)]


def cloze_probes(title: str, text: str, limit: int = 4) -> list[tuple[str, str]]:
    """(question, answer) pairs that blank out a salient span (see _salient_spans), returned
    in passage order. With nothing salient, the longest word of the first sentence (of 3+
    words) is blanked."""
    if limit <= 0:
        return []
    chosen = _salient_spans(title, text, limit)
    sents = sentences(text)
    if not chosen and sents:  # the longest word of the first sentence of 3+ words
        title_words = set(re.findall(r"\w+", _PART.sub("", title).lower()))
        i = next((k for k, x in enumerate(sents) if len(x.split()) >= 3), 0)
        words = [(m.start(), m.group()) for m in re.finditer(r"[^\W\d_][\w'’-]*", sents[i])]
        fresh = [w for w in words if w[1].lower() not in title_words] or words
        if fresh:
            start, word = max(fresh, key=lambda w: (len(w[1]), -w[0]))
            chosen.append((sents[i], start, word))
    return [(_question(sentence, start, span), span) for sentence, start, span in chosen]


RECALL_MIN_PREFIX_WORDS = 3
"""A recall probe's blank has at least this many words of its sentence before it."""


def recall_probes(title: str, text: str, limit: int = 4) -> list[tuple[str, str]]:
    """(prefix, answer) pairs: a sentence of the passage up to a salient span (chosen as for
    cloze questions), and the span. Asked closed book as the title then the prefix, the
    answer is what comes next (recall_prompt): the passage's own words, no question to parse."""
    out = []
    for sentence, start, span in _salient_spans(title, text, limit, RECALL_MIN_PREFIX_WORDS):
        words = sentence[:start].split()
        prefix = " ".join(words[-MAX_QUESTION_WORDS:])
        out.append((("… " if len(words) > MAX_QUESTION_WORDS else "") + prefix, span))
    return out


def parse_qa_pairs(text: str, limit: int = 5) -> list[tuple[str, str]]:
    """(question, answer) pairs from model output written as "Q: ... A: ..." or
    "Question: ... Answer: ...", on one line or two consecutive lines. Dropped: an empty
    answer or one over MAX_ANSWER_WORDS words, a "question" that asks nothing (no '?' and
    no question word: small models put statements there), and repeated questions."""
    lines = [_QA_BULLET.sub("", x.replace("**", "")).strip() for x in text.splitlines()]
    lines = [x for x in lines if x]
    out: list[tuple[str, str]] = []
    seen, i = set(), 0
    while i < len(lines) and len(out) < limit:
        q = _Q.match(lines[i])
        i += 1
        if q is None:
            continue
        parts = _A_INLINE.split(_QA_BULLET.sub("", q.group(1)), maxsplit=1)
        if len(parts) == 1 and i < len(lines) and (a := _A.match(lines[i])):
            parts, i = [parts[0], a.group(1)], i + 1
        if len(parts) != 2:
            continue
        question, answer = parts[0].strip(), parts[1].strip()
        if (
            answer
            and len(answer.split()) <= MAX_ANSWER_WORDS
            and _ASKS.search(question)
            and question.lower() not in seen
        ):
            seen.add(question.lower())
            out.append((question, answer))
    return out


def qa_probe_messages(title: str, passage: str, n: int = 3) -> list[dict]:
    """Chat messages asking the model for n short question/answer pairs about the passage."""
    return [
        {"role": "system", "content": "You write short quiz questions with short answers."},
        {
            "role": "user",
            "content": (
                f"Title: {title}\n\n{passage}\n\n"
                f"Write {n} quiz questions about this passage. After each question, give its short "
                "answer. Start each question with Q: and each answer with A:"
            ),
        },
    ]


def probes_for(
    title: str, text: str, given: Sequence[tuple[str, str]], kind: str, limit: int = 4
) -> list[tuple[str, str, str]]:
    """The fixed probes of a passage as (kind, question, answer) tuples.

    kind 'given': the given pairs when there are any (blank ones skipped), else cloze probes.
    kind 'cloze': cloze probes.
    kind 'qa': cloze probes too; the model-written qa probes need a model, so the session
    adds them separately (qa_probe_messages + parse_qa_pairs) with kind 'qa'.
    Each tuple's kind says how that probe was made, so a fallback reads 'cloze'.
    """
    if kind not in KINDS:
        raise ValueError(KINDS.refusal(kind))
    if kind == "given":
        pairs = [(q.strip(), a.strip()) for q, a in given if q.strip() and a.strip()]
        if pairs:
            return [("given", q, a) for q, a in pairs]
    return [("cloze", q, a) for q, a in cloze_probes(title, text, limit)]


KINDS: Vocabulary[Choice] = Vocabulary(
    "probe kind",
    (
        Choice("given", "the input's questions (cloze when it has none)"),
        Choice("cloze", "questions made from the passage without a model: a number, date or name blanked out"),
        Choice("qa", "cloze questions and questions the model writes"),
    ),
)
"""Probe kinds: a session's probe setting (SessionConfig.probes) and each stored probe's kind
(how it was made; a fallback reads 'cloze'). Recall probes come beside them (STORED_KINDS)."""

STORED_KINDS: tuple[str, ...] = (*KINDS, "recall")
"""What a stored probe's kind may be: how it was made."""

FAMILIES: Vocabulary[Choice] = Vocabulary(
    "probe family",
    (
        Choice("question", "questions asked closed book after the passage's topic: given, cloze or the model's"),
        Choice(
            "recall", "a sentence of the passage up to a name, number or date, continued closed book after the title"
        ),
    ),
)
"""What the heatmap, `seal show` and the benchmarks report, one family at a time."""


def family(kind: str) -> str:
    """The family (FAMILIES) a stored probe kind belongs to."""
    return "recall" if kind == "recall" else "question"


def kinds_made(probes: Iterable) -> list[str]:
    """The kinds of the held-out probes among `probes` (engine.domain.Probe), in KINDS order:
    what was made, which the reports read (kind 'given' on a paper without questions makes
    cloze probes)."""
    found = {p.kind for p in probes if p.role == "heldout"}
    return [k for k in KINDS if k in found]


def kinds_label(configured: str, probes: Iterable) -> str:
    """The session's probe setting as made: "cloze", "given+cloze", or "cloze (no given
    questions)" when kind 'given' found none; the setting itself while nothing is made."""
    made = kinds_made(probes)
    if not made or made == [configured]:
        return configured
    missing = f" (no {configured} questions)" if configured not in made and configured != "cloze" else ""
    return "+".join(made) + missing


ROLES = ("reward", "heldout")
REWARD_CLOZE = 2
"""Cloze probes made for the reward side when a passage has only one or two other probes."""


def split_roles(title: str, text: str, probes: list[tuple[str, str, str]]) -> list[tuple[str, str, str, str]]:
    """Give each probe its fixed role: `heldout` probes are the only ones reported (heatmap,
    `seal show`, benchmarks); `reward` probes are the only ones the filter, trials and the
    per-epoch check may read. Three or more probes alternate, the first held out; one or two
    are all held out and cloze probes from the passage (not already among them) fill the
    reward side. Returns (kind, question, answer, role)."""
    if len(probes) >= 3:
        return [(*probe, ROLES[k % 2 == 0]) for k, probe in enumerate(probes)]
    taken = {a.lower() for _, _, a in probes}
    reward = [
        ("cloze", q, a) for q, a in cloze_probes(title, text, REWARD_CLOZE + len(probes)) if a.lower() not in taken
    ][:REWARD_CLOZE]
    return [(*p, "heldout") for p in probes] + [(*p, "reward") for p in reward]


RECALL_PROBES = 6
"""Recall probes made for each passage (half held out, half reward)."""


def recall_roles(title: str, text: str, limit: int = RECALL_PROBES) -> list[tuple[str, str, str, str]]:
    """The passage's recall probes as (kind, prefix, answer, role); roles alternate, the first
    held out, as for questions (split_roles)."""
    made = recall_probes(title, text, limit)
    return [("recall", prefix, answer, ROLES[k % 2 == 0]) for k, (prefix, answer) in enumerate(made)]


def split_probes(
    title: str, text: str, given: Sequence[tuple[str, str]], kind: str, limit: int = 4
) -> list[tuple[str, str, str, str]]:
    """probes_for, each with its role (see split_roles)."""
    return split_roles(title, text, probes_for(title, text, given, kind, limit))
