"""Streaming speed: raw llama-cpp-python in this process vs the app's Generator (child process).

Same model, prompt, settings and seed on both sides, runs interleaved, warm-up excluded.
Prints one JSON object; `ratio` is app / raw median tokens per second (target: >= 0.9).
llama.cpp slows down many times over when its threads compete with other busy processes for
the cores: compare figures only from runs with a low `loadavg_1min_before`.

    .venv/bin/python bench/gen_speed.py [--reps 3] [--max-tokens 256] [--threads 0] [--gguf PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.runtime.generator import Generator  # noqa: E402
from engine.runtime.models import check_gguf, default_gguf_path  # noqa: E402

MESSAGES = [{"role": "user", "content": "Explain in a few paragraphs how a river shapes its valley over time."}]


def run_raw(llm, max_tokens: int, seed: int) -> tuple[float, int, str]:
    start, tokens, parts = time.perf_counter(), 0, []
    for chunk in llm.create_chat_completion(messages=MESSAGES, max_tokens=max_tokens, temperature=1.0,
                                            top_p=0.95, seed=seed, stream=True):
        text = chunk["choices"][0]["delta"].get("content")
        if text:
            tokens += 1
            parts.append(text)
    return tokens / (time.perf_counter() - start), tokens, "".join(parts)


def run_app(gen: Generator, max_tokens: int, seed: int) -> tuple[float, int, str]:
    start, tokens, parts = time.perf_counter(), 0, []
    for text in gen.stream_chat(MESSAGES, max_tokens=max_tokens, temperature=1.0, top_p=0.95, seed=seed):
        tokens += 1
        parts.append(text)
    return tokens / (time.perf_counter() - start), tokens, "".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--threads", type=int, default=0, help="0 = all cores")
    ap.add_argument("--n-ctx", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--gguf", default=None)
    args = ap.parse_args()
    path = check_gguf(args.gguf) if args.gguf else default_gguf_path()
    threads = args.threads or os.cpu_count() or 1
    load_before = os.getloadavg()[0]

    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(path), n_ctx=args.n_ctx, n_threads=threads, verbose=False)
    raw, app, same = [], [], True
    with Generator(path, n_ctx=args.n_ctx, threads=threads) as gen:
        run_raw(llm, 16, args.seed)  # warm-up: page in weights, fill the prompt cache
        run_app(gen, 16, args.seed)
        for _ in range(args.reps):
            r = run_raw(llm, args.max_tokens, args.seed)
            a = run_app(gen, args.max_tokens, args.seed)
            raw.append(r[0])
            app.append(a[0])
            same = same and r[2] == a[2]
    raw_med, app_med = statistics.median(raw), statistics.median(app)
    print(json.dumps({
        "model": path.name, "threads": threads, "cpus": os.cpu_count(),
        "loadavg_1min_before": round(load_before, 2), "max_tokens": args.max_tokens, "reps": args.reps,
        "tokens": r[1], "same_text": same,
        "raw_tok_s": [round(x, 1) for x in raw], "app_tok_s": [round(x, 1) for x in app],
        "raw_median": round(raw_med, 1), "app_median": round(app_med, 1),
        "ratio": round(app_med / raw_med, 3),
    }, indent=1))


if __name__ == "__main__":
    main()
