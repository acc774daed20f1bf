"""How long a served writer's first token takes to reach the session and the card, from the
moment the server flushed it.

A stub OpenAI-compatible server (tools/openai_stub.py, on a free local port) answers each
chat request after `--stall` seconds (its prompt processing) and then streams pieces
`--delay` seconds apart, noting when it flushed each reply's first piece. The session runs on
engine.runtime.served.ServedWriter paired with the scripted runtime (so no model loads):

* **engine**: `Session.generate` for one candidate at a time; the figure is the first
  `Token` event's arrival minus the server's first flush.
* **card**: the app (Textual Pilot, headless 100x30) writes the sample's first passage's
  candidates with `s`; the figure is the first `CandidateCard.append` of each card (the
  card's text changes on the UI thread, drawn in the next frame) minus the server's flush.

    .venv/bin/python bench/served_latency.py [--reps 10] [--stall 0.3] [--delay 0.03]

Prints one JSON line on stdout (milliseconds). Target: under 1000 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "seal_tui" / "samples" / "velmora.md"

from engine import events as ev  # noqa: E402
from engine.config import GenerationConfig, SessionConfig  # noqa: E402
from engine.papers.ingest import read_paper  # noqa: E402
from engine.runtime.pair import Pair  # noqa: E402
from engine.runtime.served import ServedWriter  # noqa: E402
from engine.sessions.home import Home  # noqa: E402
from tools.openai_stub import Reply, StubServer  # noqa: E402
from tools.scripted_runtime import FakeRuntime  # noqa: E402

PIECES = ["- The Velmora", " Observatory", " was founded", " in 1873", " by Ilse", " Narrowgate."] * 4


def summary(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 2),
        "max_ms": round(max(ms), 2),
    }


def engine_figures(reply: Reply, reps: int) -> list[float]:
    with StubServer([reply]) as server:
        home = Home(tempfile.mkdtemp(prefix="served-bench-"))
        config = SessionConfig(generation=GenerationConfig(candidates=1, seed=1))
        session = home.open("bench", config, Pair(ServedWriter(server.url, "stub"), FakeRuntime()))
        passage = session.add_paper(read_paper(SAMPLE)[0])[0]
        out = []
        for _ in range(reps):
            arrived: list[float] = []

            def on_event(event, arrived=arrived):
                if isinstance(event, ev.Token) and not arrived:
                    arrived.append(time.perf_counter())

            session.generate(passage, on_event, count=1)
            out.append(1000 * (arrived[0] - server.first_piece_at[-1]))
        session.close()
        home.close()
        return out


def card_figures(reply: Reply, reps: int) -> list[float]:
    from seal_tui.app import SealApp
    from seal_tui.widgets.candidate_card import CandidateCard
    from tools.pilot import open_session, until

    shown: dict[int, float] = {}
    original = CandidateCard.append

    def append(self, piece: str) -> None:
        shown.setdefault(self.index, time.perf_counter())
        original(self, piece)

    CandidateCard.append = append  # type: ignore[method-assign]

    async def run() -> list[float]:
        with StubServer([reply]) as server:
            writer = Pair(ServedWriter(server.url, "stub"), FakeRuntime())
            app = SealApp(runtime_factory=lambda config: writer, home=Home(tempfile.mkdtemp(prefix="served-app-")))
            config = SessionConfig(generation=GenerationConfig(candidates=reps, seed=1))
            async with app.run_test(size=(100, 30)) as pilot:
                screen = await open_session(pilot, "bench", config, paper=SAMPLE)
                await screen.run_action("generate")
                await until(pilot, lambda: len(screen.session.self_edits(screen.passage_id)) == reps, 120, "candidates")
            return [1000 * (shown[i] - server.first_piece_at[i]) for i in range(reps)]

    try:
        return asyncio.run(run())
    finally:
        CandidateCard.append = original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--stall", type=float, default=0.3, help="seconds before the server's first piece")
    parser.add_argument("--delay", type=float, default=0.03, help="seconds between pieces")
    args = parser.parse_args()
    reply = Reply(PIECES, stall=args.stall, delay=args.delay)
    print("engine: first Token event after the server's first flush…", file=sys.stderr)
    engine = engine_figures(reply, args.reps)
    print("card: first text on the card after the server's first flush…", file=sys.stderr)
    card = card_figures(reply, args.reps)
    print(
        json.dumps(
            {
                "engine": summary(engine),
                "card": summary(card),
                "stall_s": args.stall,
                "delay_s": args.delay,
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
