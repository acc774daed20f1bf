"""The LoRA loop on a tiny random llama (fast): the drift guard."""

import pytest

from engine.config import TrainConfig
from engine.runtime.trainer import EpochCheck, adapter_state, train_lora


class ByteTokenizer:
    eos_token_id = 1
    pad_token_id = 0

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [2 + b % 60 for b in text.encode()]}


@pytest.fixture(scope="module")
def tiny():
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], task_type="CAUSAL_LM")
    return get_peft_model(LlamaForCausalLM(config), lora)


def fresh(model):
    import torch

    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.zeros_(p)


CONFIG = TrainConfig(rank=4, alpha=8, lr=1e-2, epochs=2, bf16=False, anchor=0.0, patience=0, drift_guard=0.3)


@pytest.mark.parametrize(
    ("guard", "kept"),
    [([1.0, 1.1, 1.2], 2), ([1.0, 1.1, 2.0], 1), ([1.0, 1.5, 1.2], 2), ([1.0, 2.0, 2.0], 0)],
)
def test_the_drift_guard_keeps_the_latest_epoch_within_its_tolerance(tiny, guard, kept):
    fresh(tiny)
    states = {}

    def drift(epoch):
        states[epoch] = adapter_state(tiny)
        return guard[epoch]

    result = train_lora(tiny, ByteTokenizer(), ["the canal opened in 1761"], CONFIG, check=EpochCheck(drift=drift))
    assert result.kept_epoch == kept and result.drift_scores == guard and result.epoch_scores == []
    now = adapter_state(tiny)
    assert all((now[k] == states[kept][k]).all() for k in now)  # the kept epoch's weights are in place
    if kept:
        assert any((now[k] != states[0][k]).any() for k in now)
