"""LoRA updates on the peft model: examples in, a trained adapter and its loss curve out.

The model carries one adapter slot. An update starts from the session's current adapter
weights (cumulative updates), trains with dynamic padding, and on cancel restores the
weights it started from, so the previous version stays current. An example is a text
(loss on every token) or a (prompt, completion) pair (loss on the completion only, as the
self-edit editor is trained).

Guards keep an update from moving the model as a whole (engine.learning.drift has the data): an
anchor, a KL term that holds the model's answers on unrelated questions to the base model's,
and an EpochCheck after each epoch: the drift guard refuses an epoch whose guard questions
got worse by more than a tolerance, and the older per-epoch check keeps the epoch that
scores best on the reward probes and guard questions (stopping after `patience` epochs
without a better one).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from threading import Event

from engine.config import TrainConfig

ADAPTER_FILE = "adapter_model.safetensors"


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    epoch_scores: list[float] = field(default_factory=list)
    """The check's score before training, then after each epoch (lower is better)."""
    drift_scores: list[float] = field(default_factory=list)
    """The drift guard's mean guard-question NLL before training, then after each epoch."""
    kept_epoch: int | None = None
    """The epoch whose weights were kept (0: the starting weights); None: no check ran."""


@dataclass(frozen=True)
class EpochCheck:
    """How the weights after each epoch are judged (engine.runtime.local builds one from the
    session's guards). `score(epoch)`: the per-epoch check, lower is better (reward probes
    plus guard questions; TrainConfig.patience). `drift(epoch)`: the guard questions' mean
    NLL; an epoch whose drift rises more than TrainConfig.drift_guard over the start's is
    refused. Epoch 0 is the start. With a score the best allowed epoch is kept, else the
    latest allowed one."""

    score: Callable[[int], float] | None = None
    drift: Callable[[int], float] | None = None


Example = str | tuple[str, str]


def tokenize_examples(tokenizer, examples: list[str], max_length: int) -> list[list[int]]:
    """Token ids per example, each ending in EOS, truncated to max_length."""
    eos = tokenizer.eos_token_id
    out = []
    for text in examples:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"][: max_length - 1]
        out.append(ids + [eos])
    return out


def tokenize_for_loss(tokenizer, examples: Sequence[Example], max_length: int) -> list[tuple[list[int], int]]:
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
        head = head[-max(1, max_length - len(tail)) :]
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


class Anchor:
    """The base model's answer distributions on (prompt, answer) items, computed once, and
    the KL divergence of the adapted model from them on a sample of items per step (one
    padded forward pass)."""

    def __init__(self, model, tokenizer, items: list[tuple[str, str]], per_step: int = 4):
        import torch

        self.per_step = per_step
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.sequences = []
        for prompt, answer in items:
            head = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            tail = tokenizer(" " + answer.strip(), add_special_tokens=False)["input_ids"]
            self.sequences.append((head + tail, len(head)))
        with torch.no_grad(), model.disable_adapter():
            self.base = [b.detach() for b in self._answer_logprobs(model, range(len(self.sequences)))]

    def _answer_logprobs(self, model, picked) -> list:
        """Log-probabilities over the vocabulary at each answer position, per picked item."""
        import torch

        picked = list(picked)
        width = max(len(self.sequences[i][0]) for i in picked)
        ids = torch.full((len(picked), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(picked), width), dtype=torch.long)
        for row, i in enumerate(picked):
            seq = self.sequences[i][0]
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        decoder, head = getattr(base, base.base_model_prefix), base.get_output_embeddings()
        hidden = decoder(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).last_hidden_state
        out = []
        for row, i in enumerate(picked):  # the vocabulary projection only at answer positions
            seq, first = self.sequences[i]
            out.append(torch.log_softmax(head(hidden[row, first - 1 : len(seq) - 1]).float(), dim=-1))
        return out

    def kl(self, model, rng: random.Random):
        """Mean KL(base || adapted) per answer token over a sample of the items."""
        picked = rng.sample(range(len(self.sequences)), min(self.per_step, len(self.sequences)))
        total, count = 0.0, 0
        for i, adapted in zip(picked, self._answer_logprobs(model, picked)):
            base = self.base[i]
            total = total + (base.exp() * (base - adapted)).sum()
            count += base.shape[0]
        return total / max(1, count)


def _judge(
    model, check: EpochCheck, epoch: int, result: TrainResult, tolerance: float = 0.0, kept: int = 0
) -> tuple[bool, bool]:
    """Score the weights after `epoch` (0: the start) into result; returns (allowed by the
    drift guard, a better score than the kept epoch's)."""
    model.eval()
    allowed = better = True
    if check.drift is not None:
        result.drift_scores.append(float(check.drift(epoch)))
        allowed = result.drift_scores[-1] <= result.drift_scores[0] + tolerance
    if check.score is not None:
        result.epoch_scores.append(float(check.score(epoch)))
        better = epoch == 0 or result.epoch_scores[-1] < result.epoch_scores[kept]
    return allowed, better


def adapter_state(model) -> dict:
    """A detached copy of the LoRA weights."""
    from peft import get_peft_model_state_dict

    name = getattr(model, "active_adapter", "default")
    return {k: v.detach().clone() for k, v in get_peft_model_state_dict(model, adapter_name=name).items()}


def load_adapter_state(model, state: dict) -> None:
    from peft import set_peft_model_state_dict

    result = set_peft_model_state_dict(model, state, adapter_name=getattr(model, "active_adapter", "default"))
    unexpected = getattr(result, "unexpected_keys", None)
    if unexpected:
        raise ValueError(f"adapter does not fit this model: unexpected weights {unexpected[:3]}")


def load_adapter_folder(model, folder: Path) -> None:
    from safetensors.torch import load_file

    load_adapter_state(model, load_file(str(Path(folder) / ADAPTER_FILE)))


def save_adapter(model, folder: Path) -> Path:
    """Save the current adapter as a standard peft folder, whole and on disk (engine.atomic)."""
    from engine.atomic import partial_of, publish

    tmp = partial_of(Path(folder))
    model.save_pretrained(tmp, safe_serialization=True)
    return publish(tmp, Path(folder), "adapter-written")


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
    examples: Sequence[Example],
    config: TrainConfig,
    on_step: Callable[[int, int, int, float, float], None] | None = None,
    stop: Event | None = None,
    anchor: Anchor | None = None,
    check: EpochCheck | None = None,
) -> TrainResult:
    """Train the model's adapter on examples (texts or (prompt, completion) pairs).
    on_step(step, total, epoch, loss, seconds). With an anchor, config.anchor weighs its KL
    term. With a check (EpochCheck) the weights are judged before training and after each
    epoch, and the kept epoch's weights stay (the start's, if no epoch is allowed or better);
    with a score, training stops after config.patience epochs without a better one."""
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
    kept: tuple[int, dict] | None = None
    if check is not None:  # the start competes too: an update may keep nothing
        kept = (0, start_state)
        _judge(model, check, 0, result)
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
                    if anchor is not None and config.anchor > 0:
                        loss = loss + config.anchor * anchor.kl(model, rng)
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
            if check is not None and kept is not None:
                allowed, better = _judge(model, check, epoch + 1, result, config.drift_guard, kept[0])
                model.train()
                if allowed and (check.score is None or better):
                    kept = (epoch + 1, adapter_state(model))
                elif check.score is not None and config.patience and epoch + 1 - kept[0] >= config.patience:
                    break
        if kept is not None:
            load_adapter_state(model, kept[1])
            result.kept_epoch = kept[0]
    except BaseException:
        load_adapter_state(model, start_state)
        raise
    finally:
        model.eval()
        result.seconds = time.perf_counter() - started
    return result
