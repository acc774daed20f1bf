"""The local model runtime: llama.cpp generation plus the torch/peft copy for training
and scoring, loaded lazily: both roles of engine.runtime.protocol (Writer and Learner) in one
object, built by engine.runtime.factory.build_runtime (the fast tests use
tools/scripted_runtime.py's fake). Its LoRA slot is made once, at the LoraShape it is given.

Each phase runs on as many threads as there are cores nobody else is using
(engine.runtime.cores), re-read before every call and between training steps; a fixed
ModelConfig.threads turns that off.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from threading import Event, Lock
from typing import TYPE_CHECKING

from engine.config import GenerationConfig, ModelConfig, TrainConfig
from engine.runtime.cores import CpuWatch
from engine.runtime.devices import check_environment, describe_torch
from engine.runtime.models import check_model_files
from engine.runtime.protocol import LoraShape, RuntimeStatus, Steps, TrainingGuards, TrialScores

if TYPE_CHECKING:
    from engine.runtime.trainer import Example, TrainResult

__all__ = ["LocalRuntime", "TrainingGuards", "TrialScores"]


class LocalRuntime:
    """Owns the generator (child process) and the peft model (this process)."""

    def __init__(self, model: ModelConfig, shape: LoraShape):
        self.model_config = model
        self.shape = shape
        self.gguf = check_model_files(model)
        check_environment()  # a bad SEAL_DEVICE / SEAL_GPU_LAYERS is refused before anything loads
        self._generator = None
        self._lm = None
        self._initial_state: dict | None = None
        self._loaded_adapter: Path | None = None
        self._active: tuple | None = None  # (adapter, editor, editor scale) generation uses
        self._anchors: dict = {}  # guard items -> Anchor (the base model's answers never change)
        self._lock = Lock()
        self.cpu = CpuWatch(self._own_pids)
        """How busy the machine is apart from this runtime's processes."""

    def _own_pids(self) -> list[int]:
        child = self._generator.pid if self._generator is not None else None
        return [os.getpid()] + ([child] if child else [])

    def threads(self) -> int:
        """Threads for the call about to start: the configured count, else the free cores."""
        return self.model_config.threads or self.cpu.threads()

    def _torch_threads(self) -> None:
        import torch

        wanted = self.threads()
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)

    def _following_cores(self, on_step):
        """on_step for train_lora that also re-picks torch's threads between steps."""

        def step(*args):
            self._torch_threads()
            if on_step is not None:
                on_step(*args)

        return step

    @property
    def name(self) -> str:
        return self.gguf.name

    def who(self, version: int) -> str:
        """Who writes, as each self-edit records it: this model at the version generation uses."""
        return f"local: {self.name} v{version}"

    def status(self) -> RuntimeStatus:
        return RuntimeStatus(self.name, self._placement(), self.cpu.latest())

    def identity(self) -> str:
        """What an update records of the model it trained (engine.runtime.models.file_identity)."""
        from engine.runtime.models import file_identity

        hf = (
            f" + {file_identity(Path(self.model_config.hf_dir) / 'model.safetensors')}"
            if self.model_config.hf_dir and (Path(self.model_config.hf_dir) / "model.safetensors").is_file()
            else ""
        )
        return file_identity(self.gguf) + hf

    def _placement(self) -> str:
        """Where the loaded parts run, e.g. "llama.cpp: all layers on GPU · torch: GPU NVIDIA H200 (bf16)"."""
        parts: list[str] = []
        if self._generator is not None:
            layers = self._generator.gpu_layers
            where = "CPU" if layers == 0 else "all layers on GPU" if layers < 0 else f"{layers} layers on GPU"
            parts.append(f"llama.cpp: {where}")
        if self._lm is not None:
            parts.append(describe_torch(self._lm.model.device.type))
        return " · ".join(parts) or "not loaded"

    # -- loading -------------------------------------------------------------------
    def generator(self):
        if self._generator is None:
            from engine.runtime.generator import Generator

            gen = Generator(self.gguf, n_ctx=self.model_config.n_ctx, threads=self.model_config.threads)
            gen.load()
            self._generator = gen
        return self._generator

    def peft(self):
        with self._lock:
            if self._lm is None:
                from engine.runtime.hf_model import load_peft_model
                from engine.runtime.trainer import adapter_state

                self._lm = load_peft_model(self.model_config, self.gguf, self.shape)
                self._initial_state = adapter_state(self._lm.model)
            return self._lm

    def _use_adapter(self, adapter: Path | None) -> None:
        """Put the given adapter's weights (None: a fresh, zero-effect LoRA) in the slot."""
        from engine.runtime.trainer import load_adapter_folder, load_adapter_state

        lm = self.peft()
        if adapter is None:
            assert self._initial_state is not None  # peft() keeps it
            load_adapter_state(lm.model, self._initial_state)
        elif self._loaded_adapter != Path(adapter):
            load_adapter_folder(lm.model, Path(adapter))
        self._loaded_adapter = None if adapter is None else Path(adapter)

    def load(self) -> None:
        """Load both copies now (otherwise each loads on first use); a bad model fails here."""
        for _, step in self.load_steps():
            step()

    def load_steps(self) -> Steps:
        """load() as named steps, for a caller that shows which one is running (the app)."""
        return self.learner_steps() + self.writer_steps()

    def learner_steps(self) -> Steps:
        return [("reading the weights for training and scoring (torch)", self.peft)]

    def writer_steps(self) -> Steps:
        from engine.runtime.gguf_adapter import prepare_base

        return [
            ("starting llama.cpp, which writes the self-edits", self.generator),
            ("preparing the base model for adapters", lambda: prepare_base(self.gguf)),
        ]

    # -- the version generation uses ------------------------------------------------
    def activate(self, adapter: Path | None, editor: Path | None = None, editor_scale: float = 1.0) -> float | None:
        """Make llama.cpp generate with this peft adapter (None: the base model), plus the
        editor adapter at its scale when given; each is exported to GGUF beside itself once.
        Returns the seconds the export and switch took, None when it was already active."""
        wanted = (adapter, editor, editor_scale if editor is not None else None)
        if self._active == wanted:
            return None
        t0 = time.perf_counter()
        stack = [
            (self._exported(folder), scale)
            for folder, scale in ((adapter, 1.0), (editor, editor_scale))
            if folder is not None
        ]
        self.generator().set_adapters(stack)
        self._active = wanted
        return time.perf_counter() - t0

    def _exported(self, folder: Path) -> Path:
        """The GGUF LoRA file of a peft adapter folder, converted on first use."""
        gguf = Path(folder) / "adapter.gguf"
        if not gguf.is_file():
            from engine.runtime.gguf_adapter import peft_to_gguf

            try:
                peft_to_gguf(folder, gguf, self.gguf)
            except FileExistsError:  # another process converted it meanwhile: the same file
                pass
        return gguf

    # -- generation ----------------------------------------------------------------
    def stream_chat(self, messages: list[dict], config: GenerationConfig, stop: Event | None = None) -> Iterator[str]:
        return self.generator().stream_chat(
            messages,
            max_tokens=config.max_tokens,
            temperature=config.temperature,
            top_p=config.top_p,
            seed=config.seed,
            stop=stop,
            threads=self.threads(),
        )

    def chat_prompt(self, messages: list[dict]) -> str:
        """The text the model reads before its reply, in the model's own chat template (the
        one llama.cpp applies when it generates), for training on (prompt -> reply) pairs."""
        tokenizer = self.peft().tokenizer
        if not getattr(tokenizer, "chat_template", None):
            return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    # -- scoring -------------------------------------------------------------------
    @contextmanager
    def _scoring(self, adapter: Path | None, base: bool):
        """The peft model set to compute the base model or the given adapter, on the cores free now."""
        from engine.runtime.scorer import version_context

        lm = self.peft()
        self._torch_threads()
        if not base:
            self._use_adapter(adapter)
        with version_context(lm.model, base):
            yield lm

    def answer_nll(self, adapter: Path | None, base: bool, items: list[tuple[str, str]]) -> list[float]:
        """Answer NLL per (prompt, answer) under the base model or the given adapter."""
        from engine.runtime.scorer import answer_nll

        with self._scoring(adapter, base) as lm:
            return answer_nll(lm.model, lm.tokenizer, items)

    def greedy_answers(self, adapter: Path | None, base: bool, prompts: list[str]) -> list[str]:
        from engine.runtime.scorer import greedy_answers

        with self._scoring(adapter, base) as lm:
            return greedy_answers(lm.model, lm.tokenizer, prompts)

    # -- training ------------------------------------------------------------------
    def _anchor(self, config: TrainConfig, guards: TrainingGuards | None):
        if guards is None or not guards.guard or config.anchor <= 0:
            return None
        if guards.guard not in self._anchors:
            from engine.runtime.trainer import Anchor

            lm = self.peft()
            self._anchors[guards.guard] = Anchor(lm.model, lm.tokenizer, list(guards.guard))
        return self._anchors[guards.guard]

    def _epoch_check(self, config: TrainConfig, guards: TrainingGuards | None):
        """The EpochCheck for train_lora: the drift guard on the guard questions, and the older
        per-epoch check (mean reward-probe NLL plus mean guard NLL) when patience asks for it."""
        if guards is None:
            return None
        from engine.runtime.scorer import answer_nll
        from engine.runtime.trainer import EpochCheck

        lm = self.peft()

        def mean(items) -> float:
            values = answer_nll(lm.model, lm.tokenizer, list(items))
            return sum(values) / len(values)

        groups = [g for g in (guards.reward, guards.guard) if g]
        score = (lambda _epoch: sum(mean(g) for g in groups)) if config.patience and groups else None
        drift = (lambda _epoch: mean(guards.guard)) if config.drift_guard and guards.guard else None
        return EpochCheck(score, drift) if score or drift else None

    def fits(self, shape: LoraShape) -> bool:
        """Whether adapters of that shape train here: the slot the peft model carries is made
        once, at this runtime's shape."""
        return self.shape.fits(shape)

    def _check_shape(self, config: TrainConfig) -> None:
        if not self.fits(wanted := LoraShape.of(config)):
            raise ValueError(
                f"this runtime trains LoRA {self.shape.describe()}; "
                f"the settings ask for {wanted.describe()} (build another runtime)"
            )

    def train(
        self,
        start: Path | None,
        examples: Sequence[Example],
        config: TrainConfig,
        on_step: Callable[[int, int, int, float, float], None] | None = None,
        stop: Event | None = None,
        guards: TrainingGuards | None = None,
    ) -> TrainResult:
        """Continue training from the adapter `start` (None: from the base model), with the
        anchor and the epoch check when the config asks for them and guards are given."""
        self._check_shape(config)
        self._use_adapter(start)
        anchor = self._anchor(config, guards)  # the base model's answers, computed once
        self._loaded_adapter = None  # the slot now holds weights that are in no folder yet
        result = self._train(examples, config, anchor, guards, on_step, stop)
        if result.cancelled:
            self._loaded_adapter = None if start is None else Path(start)
        return result

    def _train(
        self, examples: Sequence[Example], config: TrainConfig, anchor, guards: TrainingGuards | None, on_step, stop
    ):
        """train_lora on the model in the slot, threads following the free cores."""
        from engine.runtime.trainer import train_lora

        lm = self.peft()
        self._torch_threads()
        return train_lora(
            lm.model,
            lm.tokenizer,
            examples,
            config,
            on_step=self._following_cores(on_step),
            stop=stop,
            anchor=anchor,
            check=self._epoch_check(config, guards),
        )

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
        """Train from `start` on examples, score items (and answer greedy_prompts) with the
        result, then put `start` back: a what-if that leaves no trace. None when cancelled.
        With guards, the trial trains as an update does (anchor, per-epoch check)."""
        from engine.runtime.scorer import answer_nll, greedy_answers
        from engine.runtime.trainer import adapter_state, load_adapter_state

        self._check_shape(config)
        lm = self.peft()
        self._use_adapter(start)
        saved = adapter_state(lm.model)
        try:
            result = self._train(examples, config, self._anchor(config, guards), guards, None, stop)
            if result.cancelled:
                return None
            nll = answer_nll(lm.model, lm.tokenizer, items)
            answers = greedy_answers(lm.model, lm.tokenizer, greedy_prompts) if greedy_prompts else None
            return TrialScores(nll, answers, result.seconds)
        finally:
            load_adapter_state(lm.model, saved)

    def save_adapter(self, folder: Path) -> Path:
        """The adapter saved whole (engine.atomic); a failed save (a full disk: one OSError
        naming the folder) leaves nothing of it behind."""
        from engine.atomic import discard_own
        from engine.failures import writing
        from engine.runtime.trainer import save_adapter

        try:
            with writing(folder):
                path = save_adapter(self.peft().model, folder)
        except BaseException:
            discard_own(Path(folder))
            raise
        self._loaded_adapter = Path(path)
        return path

    def close(self) -> None:
        self.cpu.close()
        self.cpu = CpuWatch(self._own_pids)  # a closed runtime may be used again
        if self._generator is not None:
            self._generator.close()
            self._generator = None
            self._active = None
