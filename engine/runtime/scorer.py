"""Closed-book probe scores on the peft model: teacher-forced answer NLL and greedy answers.

`version_context` picks what is evaluated: the adapter slot as loaded, or the base model
through peft's adapter switch (no second copy of the weights).
"""

from __future__ import annotations

import contextlib


def version_context(model, base: bool):
    """Context in which `model` computes the base model (base=True) or its adapter."""
    return model.disable_adapter() if base else contextlib.nullcontext()


def _autocast(model):
    """Scoring matmuls in bfloat16 where the hardware has them natively (as in training)."""
    from engine.runtime.trainer import _autocast as train_autocast

    return train_autocast(model, True)


def answer_nll(model, tokenizer, items: list[tuple[str, str]], batch_size: int = 16) -> list[float]:
    """Mean negative log-likelihood per answer token of each (prompt, answer) pair."""
    import torch

    encoded = []
    for prompt, answer in items:
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        a = tokenizer(" " + answer.strip(), add_special_tokens=False)["input_ids"] or [tokenizer.eos_token_id]
        encoded.append((p, a))
    # Similar lengths batch together, so padding stays small.
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]) + len(encoded[i][1]))
    out = [0.0] * len(encoded)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder, head = getattr(base, base.base_model_prefix), base.get_output_embeddings()
    model.eval()
    with torch.inference_mode():
        for k in range(0, len(order), batch_size):
            chunk = order[k : k + batch_size]
            width = max(len(encoded[i][0]) + len(encoded[i][1]) for i in chunk)
            ids = torch.full((len(chunk), width), tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                seq = encoded[i][0] + encoded[i][1]
                ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            with _autocast(model):
                hidden = decoder(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).last_hidden_state
            for row, i in enumerate(chunk):
                p, a = encoded[i]
                positions = torch.arange(len(p) - 1, len(p) + len(a) - 1, device=hidden.device)
                # The vocabulary projection only where an answer token is predicted.
                logprobs = torch.log_softmax(head(hidden[row, positions]).float(), dim=-1)
                picked = logprobs[torch.arange(len(a)), torch.tensor(a, device=hidden.device)]
                out[i] = float(-picked.mean())
    return out


def greedy_answers(model, tokenizer, prompts: list[str], max_new_tokens: int = 32, batch_size: int = 16) -> list[str]:
    """Greedy continuation of each prompt, cut at the first line break after any text.

    Prompts of similar length decode together (left-padded), and a batch stops once every
    row has ended its first line: most answers are a few tokens, so this costs a fraction
    of decoding each prompt alone to the token limit (BENCHMARKS.md)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    def answer(ids) -> str:
        return tokenizer.decode(ids, skip_special_tokens=True).strip().split("\n", 1)[0].strip()

    class LineEnded(StoppingCriteria):
        """Rows whose text, leading blanks aside, holds a line break: their answer is known."""

        def __init__(self, width: int) -> None:
            self.width = width

        def __call__(self, input_ids, scores, **kwargs):
            ended = [
                "\n" in tokenizer.decode(row[self.width :], skip_special_tokens=True).lstrip() for row in input_ids
            ]
            return torch.tensor(ended, dtype=torch.bool, device=input_ids.device)

    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    answers = [""] * len(prompts)
    model.eval()
    with torch.inference_mode():
        for k in range(0, len(order), batch_size):
            chunk = order[k : k + batch_size]
            width = max(len(encoded[i]) for i in chunk)
            ids = torch.full((len(chunk), width), tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):  # left-padded: every row's next token is at the end
                ids[row, width - len(encoded[i]) :] = torch.tensor(encoded[i])
                mask[row, width - len(encoded[i]) :] = 1
            out = model.generate(
                input_ids=ids.to(model.device),
                attention_mask=mask.to(model.device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                stopping_criteria=StoppingCriteriaList([LineEnded(width)]),
            )
            for row, i in enumerate(chunk):
                answers[i] = answer(out[row, width:])
    return answers
