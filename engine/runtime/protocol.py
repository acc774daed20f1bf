"""The contract between the session loop and a model: two roles and the runtime that plays both.

A **writer** writes the self-edits: it streams chat replies with the adapters it was told to
activate, and says who wrote them. A **learner** trains and scores LoRA adapters on the local
model: train, trial, answer NLL, greedy answers, save, its chat template, its identity and a
typed `RuntimeStatus` (name, placement, how busy the machine is). A **Runtime** is both, as
the session holds it: engine/runtime/local.py (llama.cpp writes, torch/peft learns) plays
both roles in one object; engine/runtime/pair.py's `Pair` joins a writer and a learner that
are different objects (engine.runtime.served's writer beside the local learner). The fast
tests' fake (tools/scripted_runtime.py) plays both; tests/engine/test_runtime_protocol.py
checks every runtime against the protocols it claims, at run time and under mypy.

Adapters are folders (None: the base model); a runtime loads lazily, so each method may load
the model first. This module imports nothing heavy: the factory and the session import it at
start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from engine.config import GenerationConfig, TrainConfig
    from engine.runtime.cores import Load
    from engine.runtime.trainer import Example, TrainResult

OnStep = Callable[[int, int, int, float, float], None]
"""on_step(step, total, epoch, loss, seconds), called after each training step."""
Steps = list[tuple[str, Callable[[], object]]]
"""Loading as named steps, for a caller that shows which one is running (the app)."""


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


@dataclass(frozen=True)
class LoraShape:
    """The LoRA slot a learner trains, made once when its model loads: rank, alpha and target
    modules are its shape (fixed once a session has updates); dropout and the seed of its
    first weights are how it is made."""

    rank: int
    alpha: int
    target_modules: tuple[str, ...]
    dropout: float = 0.0
    seed: int = 0

    @classmethod
    def of(cls, config: TrainConfig) -> LoraShape:
        """The slot a session's training settings ask for."""
        return cls(config.rank, config.alpha, tuple(config.target_modules), config.dropout, config.seed)

    def fits(self, other: LoraShape) -> bool:
        """Whether adapters of `other`'s shape train in this slot (dropout and seed aside)."""
        return (self.rank, self.alpha, self.target_modules) == (other.rank, other.alpha, other.target_modules)

    def describe(self) -> str:
        return f"rank {self.rank} on {', '.join(self.target_modules)}"


@dataclass(frozen=True)
class RuntimeStatus:
    """What the app and the command line show of a runtime."""

    name: str
    """The model's name (the GGUF file's)."""
    placement: str = ""
    """Where the loaded parts run, e.g. "llama.cpp: all layers on GPU · torch: GPU NVIDIA H200 (bf16)"."""
    machine: Load | None = None
    """How busy the machine is apart from this runtime (engine.runtime.cores), None before a reading."""


@runtime_checkable
class Writer(Protocol):
    """What writes the self-edits."""

    def writer_steps(self) -> Steps:
        """What writing needs loaded before the first self-edit, as named steps (maybe none)."""
        ...

    def activate(self, adapter: Path | None, editor: Path | None = None, editor_scale: float = 1.0) -> float | None:
        """Make generation use this adapter (None: the base model), plus the editor adapter at
        its scale; the seconds the switch took, None when it was already active (or a writer
        that switches nothing)."""
        ...

    def stream_chat(self, messages: list[dict], config: GenerationConfig, stop: Event | None = None) -> Iterator[str]:
        """The reply to chat messages with the active adapters, piece by piece, until `stop` is set."""
        ...

    def who(self, version: int) -> str:
        """Who writes while the session is at `version`, as each stored self-edit records it."""
        ...

    def close(self) -> None:
        """Free what writing holds; a closed writer may be used again."""
        ...


@runtime_checkable
class Learner(Protocol):
    """What trains and scores adapters on the local model."""

    @property
    def name(self) -> str:
        """The model's name, as the app shows it (the GGUF file's name)."""
        ...

    def learner_steps(self) -> Steps:
        """What learning and scoring need loaded, as named steps; a bad model fails in one."""
        ...

    def chat_prompt(self, messages: list[dict]) -> str:
        """The text the model reads before its reply, in its own chat template (what trains)."""
        ...

    def answer_nll(self, adapter: Path | None, base: bool, items: list[tuple[str, str]]) -> list[float]:
        """Answer NLL per (prompt, answer) under the base model or the given adapter."""
        ...

    def greedy_answers(self, adapter: Path | None, base: bool, prompts: list[str]) -> list[str]:
        """The greedy answer to each prompt under the base model or the given adapter."""
        ...

    def fits(self, shape: LoraShape) -> bool:
        """Whether this learner trains adapters of that shape (otherwise build another)."""
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

    def status(self) -> RuntimeStatus:
        """The model's name, where it runs and how busy the machine is, now."""
        ...

    def close(self) -> None:
        """Free the model's processes and threads; a closed learner may be used again."""
        ...


@runtime_checkable
class Runtime(Writer, Learner, Protocol):
    """Both roles, as a session holds them: what engine.runtime.factory.build_runtime returns."""

    def load_steps(self) -> Steps:
        """load() as named steps: the learner's, then the writer's."""
        ...

    def load(self) -> None:
        """Load both roles now rather than on first use; a bad model fails here."""
        ...
