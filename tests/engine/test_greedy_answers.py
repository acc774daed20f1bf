"""Greedy answers on a tiny random llama (fast): decoding prompts together, left-padded and
stopped at the end of each first line, gives what decoding each alone gives."""

import pytest

CHARS = "\n abcdefghijklmnopqrstuvwxyz?.:"


class CharTokenizer:
    pad_token_id = 0
    eos_token_id = 1

    def __call__(self, text, add_special_tokens=False, return_tensors=None):
        return {"input_ids": [2 + CHARS.index(c) for c in text]}

    def decode(self, ids, skip_special_tokens=True):
        return "".join(CHARS[int(i) - 2] for i in ids if int(i) >= 2)


@pytest.fixture(scope="module")
def tiny():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=2 + len(CHARS),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=1,
    )
    return LlamaForCausalLM(config)


def one_at_a_time(model, tokenizer, prompts, max_new_tokens=32):
    import torch

    answers = []
    with torch.inference_mode():
        for prompt in prompts:
            ids = torch.tensor([tokenizer(prompt)["input_ids"]])
            out = model.generate(input_ids=ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=0)
            answers.append(tokenizer.decode(out[0, ids.shape[1] :]).strip().split("\n", 1)[0].strip())
    return answers


def test_batched_greedy_answers_match_one_at_a_time(tiny):
    from engine.runtime.scorer import greedy_answers

    prompts = ["q: where is the canal?", "a", "what year did the library of orrin open? answer:", "topic: tides."] * 3
    tokenizer = CharTokenizer()
    assert greedy_answers(tiny, tokenizer, prompts, batch_size=5) == one_at_a_time(tiny, tokenizer, prompts)
