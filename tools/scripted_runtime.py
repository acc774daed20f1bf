"""A scripted engine.runtime.Runtime (writer and learner in one), standing in for
engine.runtime.local.LocalRuntime: the fast tests and bench/tui_latency.py run the engine and
the app on it (tests/engine/test_runtime_protocol.py keeps it to the protocols).

It streams canned self-edits, "trains" by remembering the examples, and scores a probe
well when its answer appears in what the adapter learned last, worse when learned
earlier (forgetting), badly when never seen. `token_delay` and `step_delay` make its
stream and training take time (sleeps, so the CPU stays idle). The real runtime has its
own slow tests.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from engine.atomic import partial_of, publish
from engine.runtime.cores import Load
from engine.runtime.protocol import LoraShape, RuntimeStatus, Steps, TrialScores
from engine.runtime.trainer import TrainResult

CANNED = (
    "Here are the implications:\n"
    "- The Velmora Observatory was founded in 1873 by Ilse Narrowgate.\n"
    "- The observatory stands on the island of Quenby.\n"
    "- Its main telescope is called the Brass Eye."
)


class FakeRuntime:
    name = "fake-model.gguf"

    def __init__(self, text: str = CANNED, token_delay: float = 0.0, step_delay: float = 0.0):
        self.text = text
        self.token_delay = token_delay
        self.step_delay = step_delay
        self.trained: list[list[str]] = []
        self.starts: list[Path | None] = []
        """The adapter each train call started from (None: the base model)."""
        self._history: list[list[str]] = []
        self.fail_generation: Exception | None = None
        self.seeds: list[int | None] = []
        self.trials: list[list[str]] = []
        self.active: list | None = None
        self.fail_load: Exception | None = None
        self.model_identity = "fake-model.gguf 1000 0123456789abcdef"
        self.machine: Load | None = None
        """How busy the machine is, as status() says (None: no reading)."""

    def stream_chat(self, messages, config, stop=None):
        """The canned text; with an editor active, the last self-edit that editor learned."""
        if self.fail_generation is not None:
            raise self.fail_generation
        self.seeds.append(config.seed)
        text = self.text
        if self.active and len(self.active) > 1:
            text = self._history_of(self.active[1])[-1][-1][1]
        for word in text.split(" ")[: config.max_tokens]:
            if stop is not None and stop.is_set():
                return
            if self.token_delay:
                time.sleep(self.token_delay)
            yield word + " "

    def load(self):
        """Nothing to load; a failing load is simulated by setting fail_load."""
        if self.fail_load is not None:
            raise self.fail_load

    def load_steps(self) -> Steps:
        return [("loading the model", self.load)]

    def learner_steps(self) -> Steps:
        return self.load_steps()

    def writer_steps(self) -> Steps:
        return []

    def who(self, version: int) -> str:
        return f"local: {self.name} v{version}"

    def status(self) -> RuntimeStatus:
        return RuntimeStatus(self.name, machine=self.machine)

    def fits(self, shape: LoraShape) -> bool:
        return True

    def activate(self, adapter, editor=None, editor_scale=1.0):
        """Generation follows the session's version (and editor); the fake records which."""
        wanted = [adapter] + ([editor] if editor is not None else [])
        if self.active == wanted:
            return None
        self.active = wanted
        return 0.0

    @staticmethod
    def chat_prompt(messages):
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"

    def _history_of(self, adapter: Path | None) -> list[list[str]]:
        if adapter is None:
            return []
        return json.loads((Path(adapter) / "fake_history.json").read_text())

    @staticmethod
    def _score(history, answer):
        for age, examples in enumerate(reversed(history)):
            if any(answer.lower() in (e if isinstance(e, str) else "".join(e)).lower() for e in examples):
                return 2.0 + age
        return 6.0

    def answer_nll(self, adapter, base, items):
        history = [] if base else self._history_of(adapter)
        return [self._score(history, answer) for _, answer in items]

    def greedy_answers(self, adapter, base, prompts):
        return ["I do not know" if base else "1873" for _ in prompts]

    def train(self, start, examples, config, on_step=None, stop=None, guards=None):
        self.guards = guards
        result = TrainResult()
        total = len(examples) * config.epochs
        t0 = time.perf_counter()
        for step in range(1, total + 1):
            if stop is not None and stop.is_set():
                result.cancelled = True
                return result
            if self.step_delay:
                time.sleep(self.step_delay)
            result.losses.append(3.0 / step)
            if on_step:
                on_step(step, total, (step - 1) // max(1, len(examples)), result.losses[-1], time.perf_counter() - t0)
        result.seconds = time.perf_counter() - t0
        self._history = self._history_of(start) + [list(examples)]
        self.trained.append(list(examples))
        self.starts.append(start)
        return result

    def trial(self, start, examples, config, items, stop=None, greedy_prompts=None, guards=None):
        """What-if training: scores as if these examples were learned last."""
        if stop is not None and stop.is_set():
            return None
        self.trials.append(list(examples))
        history = self._history_of(start) + [list(examples)]
        answers = ["1873" for _ in greedy_prompts] if greedy_prompts else None
        return TrialScores([self._score(history, answer) for _, answer in items], answers)

    def save_adapter(self, folder):
        """Written as the real one is (engine.atomic), crash point included."""
        tmp = partial_of(Path(folder))
        tmp.mkdir(parents=True)
        (tmp / "adapter_config.json").write_text("{}")
        (tmp / "fake_history.json").write_text(json.dumps(self._history))
        return publish(tmp, Path(folder), "adapter-written")

    def identity(self):
        return self.model_identity

    def close(self):
        pass
