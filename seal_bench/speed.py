"""`seal bench speed`: the adapted model at llama.cpp speed, and what the update costs.

One run measures generation with the current adapter (app), raw llama.cpp with the base
model, and transformers; the export + hot-swap of an adapter; one LoRA update on the same
examples with dynamic padding against the same update padded to 2048 tokens with EOS in
the loss (as SEAL's reference code trains); scoring per probe; peak resident memory.
"""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from engine.config import TrainConfig
from engine.papers.probes import probes_for
from engine.scores.evaluate import probe_prompt
from engine.selfedits.edit_lines import to_examples
from seal_bench.generation import PROMPT, decode_rate, generation_speed

PADDED_LENGTH = 2048


def update_examples(passage) -> list[str | tuple[str, str]]:
    """SEAL-sized training examples: a self-edit's lines (the passage's sentences, one a
    line) and the passage, as one update on this passage would see them."""
    lines = "\n".join(s.strip() + "." for s in passage.text.split(". ") if s.strip())
    return to_examples(lines, passage.title, passage.text, "implications")


def cloze_items(passage) -> list[tuple[str, str]]:
    """(prompt, answer) of the passage's cloze probes: what the scoring figures score."""
    return [(probe_prompt(passage.title, q), a) for _, q, a in probes_for(passage.title, passage.text, [], "cloze")]


def _rss_peak_mb(pid: int | None = None) -> float:
    """Peak resident memory of this process, or of another by pid (VmHWM)."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _padded_steps(lm, examples: list[str | tuple[str, str]], config: TrainConfig) -> float:
    """Seconds of one epoch over examples each padded to 2048 tokens with EOS, pads in the loss."""
    import torch

    from engine.runtime.trainer import _autocast, tokenize_examples

    eos = lm.tokenizer.eos_token_id
    params = [p for p in lm.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr)
    lm.model.train()
    t0 = time.perf_counter()
    texts = [e if isinstance(e, str) else "".join(e) for e in examples]  # SEAL's reference trains plain text
    for ids in tokenize_examples(lm.tokenizer, texts, config.max_length):
        seq = torch.tensor([ids + [eos] * (PADDED_LENGTH - len(ids))], device=lm.model.device)
        with _autocast(lm.model, config.bf16):
            loss = lm.model(input_ids=seq, labels=seq).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    lm.model.eval()
    return time.perf_counter() - t0


def speed(runtime, paper, examples: list[str | tuple[str, str]], log, train: TrainConfig) -> dict:
    """All figures of `seal bench speed`; `examples` are SEAL-sized training examples.
    Peak memory is read before the padded reference run, which needs far more."""
    from engine.runtime.trainer import adapter_state, load_adapter_state

    items = cloze_items(paper.passages[0])
    one_epoch = replace(train, epochs=1)  # the settings the runtime was built with
    runtime.load()
    lm = runtime.peft()
    start = adapter_state(lm.model)
    dynamic = runtime.train(None, examples, one_epoch).seconds
    log(f"one epoch, dynamic padding: {dynamic:.1f}s for {len(examples)} examples")
    with tempfile.TemporaryDirectory() as tmp:
        swaps = []
        for name in ("v0001", "v0002"):  # as after two updates
            runtime.train(None, examples, one_epoch)
            swaps.append(runtime.activate(runtime.save_adapter(Path(tmp) / name)))
        log(f"export + hot-swap per update: {swaps[-1]:.3f}s")
        adapter = Path(tmp) / "v0002"
        t0 = time.perf_counter()
        nll = runtime.answer_nll(adapter, False, items)
        per_probe = (time.perf_counter() - t0) / len(nll)
        gen = runtime.generator()
        rates = [
            decode_rate(gen.stream_chat(PROMPT, max_tokens=256, temperature=1.0, top_p=0.95, seed=1234))
            for _ in range(3)
        ]
        app_adapted = sorted(rates)[1]
        peak = _rss_peak_mb() + _rss_peak_mb(gen.pid)
        log(f"generation with the adapter: {app_adapted:.1f} tok/s; peak RSS {peak:.0f} MB")
    runtime.close()  # the raw llama.cpp run below gets the cores to itself
    load_adapter_state(lm.model, start)
    padded = _padded_steps(lm, examples, one_epoch)
    log(f"one epoch, padded to {PADDED_LENGTH}: {padded:.1f}s")
    base = generation_speed(runtime.gguf, threads=runtime.model_config.threads or 0, max_tokens=256)
    return {
        "gen_tps": {
            "app_adapted": round(app_adapted, 1),
            "llamacpp_base": base["raw_llamacpp"],
            "hf": base["transformers"],
        },
        "swap_seconds": round(swaps[-1], 3),
        "train_seconds": {"dynamic": round(dynamic, 2), "padded_2048": round(padded, 2)},
        "score_seconds_per_probe": round(per_probe, 4),
        "peak_rss_mb": round(peak, 1),
        "examples": len(examples),
    }
