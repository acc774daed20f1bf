"""What an update on a passage trains on, as the session and the benchmarks build it.

A passage's examples are the lines of its accepted self-edits, in order and each once (the
model's own lines only where the passage grounds them, engine.selfedits.gate.grounded; lines imported
from a file whole), then the passage itself, always last, which an update repeats
TrainConfig.passage_repeats times an epoch. Replay adds a seeded sample of earlier passages'
examples. Plain functions of passages, self-edits and settings: nothing here reads a store
or a model.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from engine.selfedits.edit_lines import to_examples
from engine.selfedits.gate import grounded
from engine.selfedits.imported_edits import IMPORTED

if TYPE_CHECKING:
    from engine.domain import Passage, SelfEdit


def passage_example(passage: Passage) -> str:
    """The passage itself as a training example: its title, a newline, its text."""
    return f"{passage.title}\n{passage.text}"


def lines_to_train(passage: Passage, edit: SelfEdit, grounding: float) -> list:
    """The lines of a self-edit an update trains: the model's own only when grounded (a
    small model invents names and years; `grounding` is TrainConfig.grounding); those
    imported from a file (a stronger writer's, chosen by the person) all, since what follows
    from a passage is rarely worded as the passage words it."""
    lines = to_examples(edit.text, passage.title, passage.text, edit.strategy)[:-1]
    if edit.strategy == IMPORTED:
        return lines
    return grounded(lines, passage.title, passage.text, grounding)


def line_counts(passage: Passage, edit: SelfEdit, grounding: float) -> tuple[int, int]:
    """(lines of this self-edit an update would train, lines it has)."""
    has = len(to_examples(edit.text, passage.title, passage.text, edit.strategy)) - 1
    return len(lines_to_train(passage, edit, grounding)), has


def passage_examples(passage: Passage, accepted: Sequence[SelfEdit], grounding: float) -> list:
    """Training examples: every accepted self-edit's lines (lines_to_train), each once, in
    order, then the passage itself."""
    last = passage_example(passage)
    seen, out = {last}, []
    for edit in accepted:
        for example in lines_to_train(passage, edit, grounding):
            if example not in seen:
                seen.add(example)
                out.append(example)
    return out + [last]


def repeat_passage(examples: list, repeats: int) -> list:
    """Training examples with the last one, the passage itself (to_examples and
    passage_examples put it last), repeated `repeats` times (TrainConfig.passage_repeats)."""
    return examples[:-1] + examples[-1:] * repeats


def replay_sample(pool: Iterable, count: int, seed: int, version: int) -> list:
    """`count` examples (at most all) drawn from the examples of passages learned earlier,
    seeded by TrainConfig.seed and the version the update continues from. The pool is read
    only when `count` is positive."""
    if count <= 0:
        return []
    pool = list(pool)
    return random.Random(seed * 7919 + version).sample(pool, min(count, len(pool)))
