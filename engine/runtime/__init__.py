"""The model at run time: generation (llama.cpp in a child process), training, adapters.

Callers build a runtime with `build_runtime` and talk to it through the `Runtime` protocol:
a `Writer` and a `Learner` in one object (engine.runtime.protocol)."""

from engine.runtime.factory import build_runtime
from engine.runtime.protocol import (
    Learner,
    LoraShape,
    Runtime,
    RuntimeStatus,
    TrainingGuards,
    TrialScores,
    Writer,
)

__all__ = [
    "Learner",
    "LoraShape",
    "Runtime",
    "RuntimeStatus",
    "TrainingGuards",
    "TrialScores",
    "Writer",
    "build_runtime",
]
