"""How self-edit candidates are written: how many, how they are sampled, and by which model."""

from __future__ import annotations

from dataclasses import dataclass

from engine.config.checks import check
from engine.config.declare import FormField, setting
from engine.vocabulary import Choice, Vocabulary

WRITERS: Vocabulary[Choice] = Vocabulary(
    "writer",
    (
        Choice("current", "the session's current version, so the model that has just learned writes the next ones"),
        Choice(
            "base", "the base model, which keeps its instruction following however many updates the session has had"
        ),
    ),
)


@dataclass(frozen=True)
class GenerationConfig:
    """How self-edit candidates are sampled (SEAL: 5 samples, temperature 1.0, top_p 0.95)."""

    candidates: int = setting(5, "self-edit candidates per passage", flag="--edits", form=FormField("candidates", 4))
    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens: int = setting(256, "longest self-edit in tokens", flag="--max-tokens")
    seed: int | None = setting(None, "sampling seed", flag="--seed", none="a fresh one each run")
    writer: str = setting(
        "current",
        "which model writes the self-edits (the editor adapter applies to either)",
        flag="--writer",
        choices=WRITERS,
    )
    edits_from: str | None = setting(
        None,
        "a SEAL-format JSON file (passages with a `completions` list each, e.g. a stronger model's): a passage "
        "found in it takes its self-edits from the file instead of from the model; '' stops using one",
        flag="--edits-from",
        metavar="FILE.json",
        path=True,
        none="the model writes them",
        form=FormField("edits from", 14, placeholder="SEAL-format JSON (optional)"),
    )

    def __post_init__(self) -> None:
        check(self.writer in WRITERS, WRITERS.refusal(self.writer))
        check(0 <= self.candidates <= 64, f"candidates must be 0..64, got {self.candidates}")
        check(0.0 <= self.temperature <= 5.0, f"temperature must be 0..5, got {self.temperature}")
        check(0.0 < self.top_p <= 1.0, f"top_p must be in (0, 1], got {self.top_p}")
        check(8 <= self.max_tokens <= 4096, f"max_tokens must be 8..4096, got {self.max_tokens}")
