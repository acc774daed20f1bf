"""The one place a model runtime is built: from a session's model settings to a Runtime.

Every model learns and scores on the local runtime (llama.cpp + torch/peft), whose LoRA slot
has the training settings' shape; with ModelConfig.writer_url a served model writes the
self-edits (engine.runtime.served), paired with the local learner (engine.runtime.pair).
Another backend (a cluster worker) is chosen here from ModelConfig the same way. The backend
is imported only when built, so importing this module stays light.
"""

from __future__ import annotations

from engine.config import ModelConfig, TrainConfig
from engine.runtime.protocol import LoraShape, Runtime


def build_runtime(model: ModelConfig, train: TrainConfig) -> Runtime:
    """The runtime for these model settings; its files are checked now, the model loads lazily."""
    from engine.runtime.local import LocalRuntime

    local = LocalRuntime(model, LoraShape.of(train))
    if model.writer_url:  # a served model writes the self-edits; the local one learns and scores
        from engine.runtime.pair import Pair
        from engine.runtime.served import ServedWriter

        return Pair(ServedWriter.of(model), local)
    return local
