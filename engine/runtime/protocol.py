"""The contract between the session loop and a model runtime: what the engine and the app
call on the model, and nothing else. engine/runtime/local.py (llama.cpp + torch/peft) is
one runtime, tools/scripted_runtime.py's FakeRuntime another; a new backend implements
`Runtime` and is chosen in engine/runtime/factory.py. tests/engine/test_runtime_protocol.py
checks both against it, at run time and under mypy.

Adapters are folders (None: the base model); a runtime loads lazily, so each method may load
the model first. Optional beyond the protocol: a `cpu` attribute (an
engine.runtime.cores.CpuWatch) that the app reads with getattr to show how busy the machine is,
and a `writer` string when another model writes the self-edits (engine.runtime.served), which
each stored self-edit records.

This module imports nothing heavy: the factory and the session import it at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from engine.config import GenerationConfig, TrainConfig
    from engine.runtime.trainer import Example, TrainResult

OnStep = Callable[[int, int, int, float, float], None]
"""on_step(step, total, epoch, loss, seconds), called after each training step."""


@dataclass(frozen=True)
class TrainingGuards:
    """What keeps an update specific: the passage's reward probes and the drift set's guard
    questions, as (prompt, answer) pairs. With TrainConfig.anchor the guard questions anchor
    the model to the base model's answers; with TrainConfig.patience each epoch is scored
    on both (mean reward NLL + mean guard NLL) and the best epoch, the start included, kept."""

    reward: tuple[tuple[str, str], ...] = ()
    guard: tuple[tuple[str, str], ...] = ()


@dataclass
class TrialScores:
    """What a trial update would do: answer NLL per item, greedy answers if asked."""

    nll: list[float]
    answers: list[str] | None = None
    seconds: float = 0.0


@runtime_checkable
class Runtime(Protocol):
    """A model the session loop can write with, score with and train."""

    @property
    def name(self) -> str:
        """The model's name, as the app shows it (the GGUF file's name)."""
        ...

    def load(self) -> None:
        """Load the model now rather than on first use; a bad model fails here."""
        ...

    def activate(self, adapter: Path | None, editor: Path | None = None, editor_scale: float = 1.0) -> float | None:
        """Make generation use this adapter (None: the base model), plus the editor adapter at
        its scale; the seconds the switch took, None when it was already active."""
        ...

    def stream_chat(self, messages: list[dict], config: GenerationConfig, stop: Event | None = None) -> Iterator[str]:
        """The reply to chat messages with the active adapters, piece by piece, until `stop` is set."""
        ...

    def chat_prompt(self, messages: list[dict]) -> str:
        """The text the model reads before its reply, in its own chat template."""
        ...

    def answer_nll(self, adapter: Path | None, base: bool, items: list[tuple[str, str]]) -> list[float]:
        """Answer NLL per (prompt, answer) under the base model or the given adapter."""
        ...

    def greedy_answers(self, adapter: Path | None, base: bool, prompts: list[str]) -> list[str]:
        """The greedy answer to each prompt under the base model or the given adapter."""
        ...

    def train(
        self,
        start: Path | None,
        examples: Sequence[Example],
        config: TrainConfig,
        on_step: OnStep | None = None,
        stop: Event | None = None,
        guards: TrainingGuards | None = None,
    ) -> TrainResult:
        """Train from adapter `start` (None: the base model); the weights stay loaded for save_adapter."""
        ...

    def trial(
        self,
        start: Path | None,
        examples: Sequence[Example],
        config: TrainConfig,
        items: list[tuple[str, str]],
        stop: Event | None = None,
        greedy_prompts: list[str] | None = None,
        guards: TrainingGuards | None = None,
    ) -> TrialScores | None:
        """Train from `start`, score items with the result, then put `start` back; None when cancelled."""
        ...

    def save_adapter(self, folder: Path) -> Path:
        """Write the adapter trained last to `folder` (atomically) and return where it lies."""
        ...

    def identity(self) -> str:
        """What an update records of the model it trained, to refuse a different model later."""
        ...

    def close(self) -> None:
        """Free the model's processes and threads; a closed runtime may be used again."""
        ...
