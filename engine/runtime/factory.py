"""The one place a model runtime is built: from a session's model settings to a Runtime.

Today every model runs on the local runtime (llama.cpp + torch/peft); a second backend (a
served writer, a cluster worker) is chosen here from ModelConfig. The backend is imported
only when built, so importing this module stays light.
"""

from __future__ import annotations

from engine.config import ModelConfig, TrainConfig
from engine.runtime.protocol import Runtime


def build_runtime(model: ModelConfig, train: TrainConfig) -> Runtime:
    """The runtime for these model settings; its files are checked now, the model loads lazily."""
    from engine.runtime.local import LocalRuntime

    return LocalRuntime(model, train)
