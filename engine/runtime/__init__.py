"""The model at run time: generation (llama.cpp in a child process), training, adapters.

Callers build a runtime with `build_runtime` and talk to it through the `Runtime` protocol."""

from engine.runtime.factory import build_runtime
from engine.runtime.protocol import Runtime, TrainingGuards, TrialScores

__all__ = ["Runtime", "TrainingGuards", "TrialScores", "build_runtime"]
