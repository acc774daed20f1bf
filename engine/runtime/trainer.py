"""LoRA updates on the peft model: examples in, a trained adapter and its loss curve out.

The model carries one adapter slot. An update starts from the session's current adapter
weights (cumulative updates), trains with dynamic padding, and on cancel restores the
weights it started from, so the previous version stays current. An example is a text
(loss on every token) or a (prompt, completion) pair (loss on the completion only, as the
self-edit editor is trained).
"""
from __future__ import annotations

import os
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from threading import Event
from typing import Callable

from engine.config import TrainConfig

ADAPTER_FILE = "adapter_model.safetensors"


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False


Example = str | tuple[str, str]


def tokenize_examples(tokenizer, examples: list[str], max_length: int) -> list[list[int]]:
    """Token ids per example, each ending in EOS, truncated to max_length."""
    eos = tokenizer.eos_token_id
    out = []
    for text in examples:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"][: max_length - 1]
        out.append(ids + [eos])
    return out


def tokenize_for_loss(tokenizer, examples: list[Example], max_length: int) -> list[tuple[list[int], int]]:
    """(token ids, index of the first token with loss) per example: 0 for a text; for a
    (prompt, completion) pair, the prompt's length, so only the completion is learned.
    A pair whose prompt fills max_length keeps the prompt's tail."""
    out = []
    for example in examples:
        if isinstance(example, str):
            out.append((tokenize_examples(tokenizer, [example], max_length)[0], 0))
            continue
        prompt, completion = example
        head = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        tail = tokenize_examples(tokenizer, [completion], max_length)[0]
        head = head[-max(1, max_length - len(tail)):]
        out.append((head + tail, len(head)))
    return out


def _batches(sequences: list, batch_size: int, rng: random.Random) -> list[list]:
    order = list(range(len(sequences)))
    rng.shuffle(order)
    return [[sequences[i] for i in order[k : k + batch_size]] for k in range(0, len(order), batch_size)]


def _collate(batch: list[tuple[list[int], int]], pad_id: int):
    """Pad to the longest sequence in the batch (never to a fixed length); pads and
    prompt tokens get no loss."""
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (seq, first) in enumerate(batch):
        ids[row, : len(seq)] = torch.tensor(seq)
        labels[row, first : len(seq)] = torch.tensor(seq[first:])
        mask[row, : len(seq)] = 1
    return ids, mask, labels


def adapter_state(model) -> dict:
    """A detached copy of the LoRA weights."""
    from peft import get_peft_model_state_dict

    return {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}


def load_adapter_state(model, state: dict) -> None:
    from peft import set_peft_model_state_dict

    result = set_peft_model_state_dict(model, state)
    unexpected = getattr(result, "unexpected_keys", None)
    if unexpected:
        raise ValueError(f"adapter does not fit this model: unexpected weights {unexpected[:3]}")


def load_adapter_folder(model, folder: Path) -> None:
    from safetensors.torch import load_file

    load_adapter_state(model, load_file(str(Path(folder) / ADAPTER_FILE)))


def save_adapter(model, folder: Path) -> Path:
    """Save the current adapter as a standard peft folder, atomically (temp + rename)."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder


def _autocast(model, wanted: bool):
    """bfloat16 autocast on hardware with native bf16 matmuls, else a no-op context."""
    import contextlib

    import torch

    device = model.device.type
    if device == "cuda":
        ok = torch.cuda.is_bf16_supported()
    else:
        ok = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    return torch.autocast(device, dtype=torch.bfloat16) if wanted and ok else contextlib.nullcontext()


def train_lora(
    model,
    tokenizer,
    examples: list[Example],
    config: TrainConfig,
    on_step: Callable[[int, int, int, float, float], None] | None = None,
    stop: Event | None = None,
) -> TrainResult:
    """Train the model's adapter on examples (texts or (prompt, completion) pairs).
    on_step(step, total, epoch, loss, seconds)."""
    import torch

    if not examples:
        raise ValueError("no training examples")
    sequences = tokenize_for_loss(tokenizer, examples, config.max_length)
    start_state = adapter_state(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    steps_per_epoch = -(-len(sequences) // config.batch_size)
    total = steps_per_epoch * config.epochs
    result = TrainResult()
    started = time.perf_counter()
    model.train()
    step = 0
    try:
        for epoch in range(config.epochs):
            for batch in _batches(sequences, config.batch_size, rng):
                if stop is not None and stop.is_set():
                    load_adapter_state(model, start_state)
                    result.cancelled = True
                    return result
                ids, mask, labels = (t.to(model.device) for t in _collate(batch, tokenizer.pad_token_id))
                with _autocast(model, config.bf16):
                    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                if stop is not None and stop.is_set():  # a slow step need not finish first
                    load_adapter_state(model, start_state)
                    result.cancelled = True
                    return result
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                result.losses.append(float(loss.detach()))
                if on_step is not None:
                    on_step(step, total, epoch, result.losses[-1], time.perf_counter() - started)
    except BaseException:
        load_adapter_state(model, start_state)
        raise
    finally:
        model.eval()
        result.seconds = time.perf_counter() - started
    return result
