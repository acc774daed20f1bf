"""`seal bench cycle`: one passage cycle with the default settings, then scoring as the
passages grow (generation speed comes from seal_bench.generation, in the same run)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from engine.config import GenerationConfig, ModelConfig, SessionConfig, TrainConfig
from engine.domain import PaperDraft, PassageDraft


def _copies(draft: PaperDraft, n: int) -> PaperDraft:
    """n distinct passages made from the paper's, for scaling measurements."""
    base = list(draft.passages)
    passages = tuple(
        PassageDraft(f"{base[i % len(base)].title} #{i}", base[i % len(base)].text, base[i % len(base)].questions)
        for i in range(n)
    )
    return PaperDraft(draft.title, draft.source, f"{draft.sha256}-x{n}", passages)


def cycle(draft: PaperDraft, config: SessionConfig, passages: int, on_line: Callable[[str], None]) -> dict:
    """One full passage cycle with the given settings, then scoring as passages grow."""
    from engine.runtime.local import LocalRuntime  # its load time is timed part by part (peft, generator)
    from engine.runtime.protocol import LoraShape
    from engine.sessions.home import Home

    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp))
        runtime = LocalRuntime(config.model, LoraShape.of(config.train))
        try:
            t0 = time.perf_counter()
            runtime.peft()
            runtime.generator()
            load = time.perf_counter() - t0
            session = home.open("bench", config, runtime)
            stored = session.add_paper(_copies(draft, passages))
            first = stored[0]
            t0 = time.perf_counter()
            session.generate(first)
            gen = time.perf_counter() - t0
            session.apply_policy(first)
            examples = len(session.examples_for(first))
            t0 = time.perf_counter()
            update = session.learn(first)
            train = time.perf_counter() - t0
            t0 = time.perf_counter()
            session.score(update.version, [first])
            score = time.perf_counter() - t0
            on_line(f"cycle: generate {gen:.1f}s, train {train:.1f}s ({examples} examples), score {score:.2f}s")
            scaling = []
            for n in sorted({1, 2, 5, 10, 20, passages} & set(range(1, passages + 1))):
                subset = stored[:n]
                probes = sum(len(p.probes) for p in subset)
                t0 = time.perf_counter()
                runtime.answer_nll(
                    session.adapter_for(update.version),
                    False,
                    [
                        (f"Topic: {p.title}\nQuestion: {q.question}\nAnswer:", q.answer)
                        for p in subset
                        for q in p.probes
                    ],
                )
                seconds = time.perf_counter() - t0
                scaling.append(
                    {
                        "passages": n,
                        "probes": probes,
                        "seconds": round(seconds, 3),
                        "per_probe": round(seconds / probes, 4),
                    }
                )
                on_line(f"scoring {n} passages ({probes} probes): {seconds:.2f}s")
        finally:
            runtime.close()
            home.close()
    return {
        "load_seconds": round(load, 2),
        "cycle": {
            "generate": round(gen, 2),
            "train": round(train, 2),
            "score": round(score, 3),
            "total": round(gen + train + score, 2),
            "examples": examples,
            "train_steps": len(update.losses),
            "candidates": config.generation.candidates,
            "max_tokens": config.generation.max_tokens,
            "epochs": config.train.epochs,
        },
        "scoring": scaling,
    }


def default_config(threads: int = 0) -> SessionConfig:
    return SessionConfig(
        model=ModelConfig(threads=threads), generation=GenerationConfig(seed=1234), train=TrainConfig()
    )


def machine() -> dict:
    return {"cpus": os.cpu_count(), "loadavg_1min": round(os.getloadavg()[0], 2)}
