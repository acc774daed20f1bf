"""`seal bench cycle`: generation speed three ways, one passage cycle, scoring scale-up.

Everything is measured in one run on this machine, so the ratios compare like with like.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

from engine.config import GenerationConfig, ModelConfig, SessionConfig, TrainConfig
from engine.domain import PaperDraft, PassageDraft

PROMPT = [{"role": "user", "content": "List five facts about how rivers shape their valleys, one per line."}]


def _tps(tokens: int, seconds: float) -> float:
    return round(tokens / seconds, 1) if seconds > 0 else 0.0


def decode_rate(pieces) -> float:
    """Tokens/s after the first token: the decoding speed, whatever the prompt costs and
    however long this sample happens to be."""
    first, n = None, 0
    for piece in pieces:
        if piece:
            n += 1
            first = first or time.perf_counter()
    return _tps(n - 1, time.perf_counter() - first) if first and n > 1 else 0.0


def generation_speed(gguf: Path, threads: int, max_tokens: int, seed: int = 1234, reps: int = 3) -> dict:
    """Tokens/s of the app's generator, raw in-process llama-cpp-python, and transformers."""
    import llama_cpp  # torch is imported only after the llama.cpp runs: it competes for threads

    from engine.runtime.generator import Generator

    threads = threads or os.cpu_count() or 1
    runs: dict[str, list[float]] = {"raw_llamacpp": [], "app": []}
    llm = llama_cpp.Llama(model_path=str(gguf), n_ctx=2048, n_threads=threads, verbose=False)
    with Generator(gguf, threads=threads) as gen:
        streams = {
            "raw_llamacpp": lambda: (c["choices"][0]["delta"].get("content") for c in llm.create_chat_completion(
                messages=PROMPT, max_tokens=max_tokens, temperature=1.0, top_p=0.95, seed=seed, stream=True)),
            "app": lambda: gen.stream_chat(PROMPT, max_tokens=max_tokens, temperature=1.0, top_p=0.95, seed=seed),
        }
        for stream in streams.values():
            list(stream())  # warm-up
        for _ in range(reps):  # interleaved, so a noisy moment hits both sides
            for name, stream in streams.items():
                runs[name].append(decode_rate(stream()))
    del llm
    out = {name: statistics.median(values) for name, values in runs.items()}

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engine.runtime.hf_model import _quiet_transformers, model_folder

    _quiet_transformers()
    folder = model_folder(ModelConfig(), gguf)
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    ids = tok.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    torch.manual_seed(seed)
    with torch.inference_mode():
        t0 = time.perf_counter()
        result = model.generate(**ids, max_new_tokens=max_tokens, do_sample=True, temperature=1.0, top_p=0.95,
                                pad_token_id=tok.eos_token_id)
        seconds = time.perf_counter() - t0
    out["transformers"] = _tps(result.shape[1] - ids["input_ids"].shape[1], seconds)
    out["app_vs_raw"] = round(out["app"] / out["raw_llamacpp"], 3)
    out["app_vs_transformers"] = round(out["app"] / out["transformers"], 2)
    return out


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
    from engine.home import Home
    from engine.runtime.local import LocalRuntime

    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp))
        runtime = LocalRuntime(config.model, config.train)
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
                runtime.answer_nll(session.adapter_for(update.version), False, [
                    (f"Topic: {p.title}\nQuestion: {q.question}\nAnswer:", q.answer) for p in subset for q in p.probes
                ])
                seconds = time.perf_counter() - t0
                scaling.append({"passages": n, "probes": probes, "seconds": round(seconds, 3),
                                "per_probe": round(seconds / probes, 4)})
                on_line(f"scoring {n} passages ({probes} probes): {seconds:.2f}s")
        finally:
            runtime.close()
            home.close()
    return {
        "load_seconds": round(load, 2),
        "cycle": {"generate": round(gen, 2), "train": round(train, 2), "score": round(score, 3),
                  "total": round(gen + train + score, 2), "examples": examples,
                  "train_steps": len(update.losses), "candidates": config.generation.candidates,
                  "max_tokens": config.generation.max_tokens, "epochs": config.train.epochs},
        "scoring": scaling,
    }


def default_config(threads: int = 0) -> SessionConfig:
    return SessionConfig(model=ModelConfig(threads=threads), generation=GenerationConfig(seed=1234), train=TrainConfig())


def machine() -> dict:
    return {"cpus": os.cpu_count(), "loadavg_1min": round(os.getloadavg()[0], 2)}
