"""What a seeded candidate costs now that a seeded reply repeats on every build.

A seeded reply reads its prompt whole, and the next seeded reply to the same prompt samples
from the logits kept from that read (engine.runtime.llama_child.ExactPrompts). This writes the
sample paper's first passage's candidates the way a session does (the implications prompt,
5 candidates, temperature 1.0, top_p 0.95) three ways on one generator, in turn:

* kept: seeded, as a session with --seed writes them now;
* afresh: seeded, with a short unrelated read between candidates, so every candidate reads
  its prompt whole (what always reading afresh would cost; the unrelated read is not timed);
* cached: unseeded, continuing from llama-cpp-python's own prompt cache (as before).

Per way: the wait for the first piece and the decode time per piece, medians over candidates
2..5 (the first reads its prompt whole in every way), and a candidate of --max-tokens pieces
built from them.

    .venv/bin/python bench/seeded_prompt.py [--reps 3] [--max-tokens 256]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.papers.ingest import read_paper  # noqa: E402
from engine.runtime.generator import Generator  # noqa: E402
from engine.runtime.models import default_gguf_path  # noqa: E402
from engine.selfedits.selfedit import build_messages, resolve_strategy  # noqa: E402

SAMPLE = ROOT / "seal_tui" / "samples" / "velmora.md"
WAYS = ("kept", "afresh", "cached")


def candidate(gen: Generator, messages: list[dict], seed: int | None, max_tokens: int) -> tuple[float, float]:
    """(seconds to the first piece, seconds per later piece) of one reply."""
    start, first, pieces = time.perf_counter(), None, 0
    for _ in gen.stream_chat(messages, max_tokens=max_tokens, temperature=1.0, top_p=0.95, seed=seed):
        pieces += 1
        first = first or time.perf_counter()
    end = time.perf_counter()
    first = first or end
    return first - start, (end - first) / max(1, pieces - 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()
    passage = read_paper(SAMPLE)[0].passages[0]
    messages = build_messages(resolve_strategy("implications"), passage.title, passage.text)
    waits: dict[str, list[float]] = {way: [] for way in WAYS}
    per_piece: list[float] = []
    with Generator(default_gguf_path()) as gen:
        for rep in range(args.reps):
            for way in WAYS:  # interleaved, so a noisy moment hits each
                gen.greedy("An unrelated prompt.", max_tokens=2)
                for k in range(args.candidates):
                    if way == "afresh":
                        gen.greedy("An unrelated prompt.", max_tokens=2)
                    seed = None if way == "cached" else 1000 * rep + k
                    first, piece = candidate(gen, messages, seed, args.max_tokens)
                    if k:  # the first candidate reads its prompt whole in every way
                        waits[way].append(first)
                        per_piece.append(piece)
    decode = statistics.median(per_piece)
    wait = {way: statistics.median(v) for way, v in waits.items()}
    full = {way: w + decode * (args.max_tokens - 1) for way, w in wait.items()}
    print(
        json.dumps(
            {
                "candidates_timed_per_way": len(waits["kept"]),
                "first_piece_ms": {way: round(1000 * w, 1) for way, w in wait.items()},
                "decode_ms_per_piece": round(1000 * decode, 2),
                "candidate_s_at_max_tokens": {way: round(v, 2) for way, v in full.items()},
                "vs_cached": {way: round(v / full["cached"], 3) for way, v in full.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
