"""`seal bench speed --busy N`: the three figures a person waits on (adapted generation,
one epoch of training, scoring per probe), alone and beside N CPU-bound programs.

Each figure is measured four ways in one run: threads fixed at every core (seal's old
behaviour) and threads that follow the free cores (engine.runtime.cores, the default), each
alone and busy. The competitors are plain Python busy loops this benchmark starts and stops.
Ratios compare busy with alone for the same threads, and adaptive with fixed alone.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from engine.config import GenerationConfig, TrainConfig
from engine.runtime.cores import usable_cores
from seal_bench.generation import PROMPT, decode_rate
from seal_bench.speed import cloze_items

SETTLE_SECONDS = 2.0
"""Time for competitors to show in the runtime's reading before a figure is taken."""
BUSY_LOOP = "while True: pass"


def _figures(
    runtime, examples: list[str | tuple[str, str]], one_epoch: TrainConfig, items, adapter: Path, reps: int
) -> dict:
    gen = GenerationConfig(max_tokens=192, temperature=1.0, top_p=0.95, seed=1234)
    rates, trains, scores = [], [], []
    for _ in range(reps):
        rates.append(decode_rate(runtime.stream_chat(PROMPT, gen)))
        trains.append(runtime.train(adapter, examples, one_epoch).seconds)
        t0 = time.perf_counter()
        runtime.answer_nll(adapter, False, items)
        scores.append((time.perf_counter() - t0) / len(items))
    return {
        "gen_tps": round(statistics.median(rates), 1),
        "train_s": round(statistics.median(trains), 2),
        "score_s_per_probe": round(statistics.median(scores), 4),
        "threads_seen": runtime.threads(),
    }


def _ratios(busy: dict, alone: dict) -> dict:
    """Speed kept, as a share of the speed alone (times inverted)."""
    return {
        "gen_tps": round(busy["gen_tps"] / alone["gen_tps"], 2),
        "train_s": round(alone["train_s"] / busy["train_s"], 2),
        "score_s_per_probe": round(alone["score_s_per_probe"] / busy["score_s_per_probe"], 2),
    }


def busy_speed(
    runtime, paper, examples: list[str | tuple[str, str]], competitors: int, log, train: TrainConfig, reps: int = 2
) -> dict:
    items = cloze_items(paper.passages[0])
    runtime.load()
    adaptive_model = runtime.model_config
    fixed_model = replace(adaptive_model, threads=usable_cores())
    out: dict = {"cores": usable_cores(), "competitors": competitors}
    with tempfile.TemporaryDirectory() as tmp:
        one_epoch = replace(train, epochs=1)  # the settings the runtime was built with
        runtime.train(None, examples, one_epoch)
        adapter = runtime.save_adapter(Path(tmp) / "v0001")
        runtime.activate(adapter)
        _figures(runtime, examples, one_epoch, items, adapter, 1)  # warm-up: caches, allocator, adapter export
        for load in ("alone", "busy"):
            procs = [
                subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(competitors if load == "busy" else 0)
            ]
            try:
                time.sleep(SETTLE_SECONDS if procs else 0.5)
                for name, model in (("fixed", fixed_model), ("adaptive", adaptive_model)):
                    runtime.model_config = model
                    out.setdefault(name, {})[load] = figures = _figures(
                        runtime, examples, one_epoch, items, adapter, reps
                    )
                    log(f"{name} threads, {load}: {figures}")
            finally:
                for proc in procs:
                    proc.kill()
                    proc.wait()
    runtime.model_config = adaptive_model
    for name in ("fixed", "adaptive"):
        out[name]["kept"] = _ratios(out[name]["busy"], out[name]["alone"])
    out["adaptive_vs_fixed_alone"] = _ratios(out["adaptive"]["alone"], out["fixed"]["alone"])
    return out
