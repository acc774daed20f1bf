"""Key-press-to-render latency of the session screen, and time to the first frame.

Driven through Textual's Pilot (`app.run_test`, headless, 100x30 by default) on a fresh
session home with the sample paper:

* **training**: `u` on passage P1; while the engine is in its `train` stage, the heatmap
  has focus and the benchmark presses right/left (the selected passage changes, so the
  cursor, the passage list, the cards and the probe detail all change).
* **streaming**: `s` on passage P2 after that update; while candidate cards are being
  written token by token, the benchmark presses down/up (the heatmap cursor moves between
  the base and v1 rows and the probe detail follows).

What one sample measures: from just before the key event is posted to the app (the call
Pilot's `press` makes, `app.post_message(events.Key(...))`, without Pilot's idle waits,
which under a busy worker thread can last a second each) to the moment `App._display`
returns for the first frame that paints the moved cursor, i.e. the compositor has
rendered the update. In a headless run `_display` renders everything but does not write
the escape codes to a terminal. Keys are pressed `--interval` seconds apart.

First frame: a child process (`python -c 'import seal_cli.main; ...'`, the import path of the
`seal` command) starts the app headless on an empty home and prints when the first
frame is displayed; the figure is parent's spawn -> that line. Also reported: Pilot's
`run_test` entry -> first frame, in this process (imports already done).

Fake mode (the default) uses tools.scripted_runtime.FakeRuntime with delays: its training
and token stream are `time.sleep`, so they do not load the CPU; `--real` uses the embedded
model (llama.cpp in a child process, torch/peft training in a worker thread of this process).

    .venv/bin/python bench/tui_latency.py [--real] [--interval 0.1] [--size 100x30]

Prints one JSON line on stdout (progress on stderr). Targets: p95 <= 50 ms, first frame < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "seal_tui" / "samples" / "velmora.md"

FIRST_FRAME_CHILD = r"""
import sys
import seal_cli.main  # what the `seal` command imports first
from seal_tui.app import SealApp
from engine.sessions.home import Home

app = SealApp(home=Home(sys.argv[1]))
original = app._display

def display(screen, renderable):
    original(screen, renderable)
    if renderable is not None and not getattr(app, "_seen", False):
        app._seen = True
        print("first-frame", flush=True)
        app.exit()

app._display = display
app.run(headless=True, size=(100, 30))
"""


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def figures(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, max(0, round(0.95 * len(ms)) - 1))]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ms[-1], 1),
    }


def first_frame_subprocess(runs: int = 3) -> list[float]:
    out = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            start = time.perf_counter()
            child = subprocess.Popen(
                [sys.executable, "-c", FIRST_FRAME_CHILD, home],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            assert child.stdout is not None  # stdout=PIPE
            line = child.stdout.readline()
            seconds = time.perf_counter() - start
            child.wait(timeout=30)
            if line.strip() == "first-frame":
                out.append(round(seconds, 3))
    return out


class FrameClock:
    """Wraps App._display: wakes a waiter when a frame shows what it waits for."""

    def __init__(self, app) -> None:
        self.app = app
        self.waiting: tuple[Callable[[], bool], asyncio.Future[float]] | None = None
        self.first_frame: float | None = None
        original = app._display

        def display(screen, renderable):
            original(screen, renderable)
            if renderable is None:
                return
            now = time.perf_counter()
            if self.first_frame is None:
                self.first_frame = now
            if self.waiting and not self.waiting[1].done() and self.waiting[0]():
                self.waiting[1].set_result(now)

        app._display = display

    async def press(self, key: str, shown, timeout: float = 5.0) -> float | None:
        """Seconds from posting `key` to the first frame for which shown() holds."""
        from textual import events

        future = asyncio.get_running_loop().create_future()
        self.waiting = (shown, future)
        start = time.perf_counter()
        self.app.post_message(events.Key(key, None))
        try:
            end = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            self.waiting = None
        return end - start


async def until(pilot, condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def stage_text(screen) -> str:
    return str(screen.query_one("#update-status").render())


async def sample_while(
    clock, heatmap, keys: tuple[str, str], busy, interval: float, limit: float
) -> tuple[list[float], int]:
    """Press keys[0], keys[1], ... while busy(); returns latencies and the count of misses."""
    out, missed, i, deadline = [], 0, 0, time.monotonic() + limit
    while busy() and time.monotonic() < deadline:
        key = keys[i % 2]
        i += 1
        row, col = heatmap.cursor
        drow, dcol = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}[key]
        rows, cols = len(heatmap.matrix.rows), len(heatmap.matrix.cols)
        target = (min(max(0, row + drow), rows - 1), min(max(0, col + dcol), cols - 1))
        if target == (row, col):
            await asyncio.sleep(interval)
            continue
        seconds = await clock.press(key, lambda: heatmap.cursor == target)
        if seconds is None:
            missed += 1
        elif busy():
            out.append(seconds)
        await asyncio.sleep(interval)
    return out, missed


async def bench(args) -> dict:
    from engine.config import GenerationConfig, SessionConfig, TrainConfig
    from engine.sessions.home import Home
    from seal_tui.app import SealApp
    from seal_tui.screens.session import SessionScreen
    from seal_tui.widgets.candidate_list import CandidateList
    from seal_tui.widgets.heatmap import Heatmap

    if args.real:
        factory = None
        config = SessionConfig(
            generation=GenerationConfig(candidates=3, max_tokens=160, seed=0), train=TrainConfig(epochs=3)
        )
    else:
        from tools.scripted_runtime import FakeRuntime

        runtime = FakeRuntime(token_delay=0.01, step_delay=0.2)
        runtime.text = " ".join([runtime.text] * 4)
        factory = lambda _config: runtime  # noqa: E731
        config = SessionConfig(generation=GenerationConfig(candidates=3), train=TrainConfig(epochs=10))
    width, height = (int(v) for v in args.size.split("x"))
    result: dict = {"mode": "real" if args.real else "fake", "size": args.size, "interval_s": args.interval}
    with tempfile.TemporaryDirectory() as home:
        app = SealApp(runtime_factory=factory, home=Home(home))
        started = time.perf_counter()
        async with app.run_test(size=(width, height)) as pilot:
            clock = FrameClock(app)
            await until(pilot, lambda: clock.first_frame is not None, 10, "first frame")
            first_frame = clock.first_frame
            assert first_frame is not None  # waited for above
            result["run_test_to_first_frame_s"] = round(first_frame - started, 3)
            app.open_session("bench", config, paper=str(SAMPLE))
            await until(pilot, lambda: getattr(app.screen, "model_state", "") != "loading", 600, "model")
            screen = app.screen
            assert isinstance(screen, SessionScreen)  # open_session pushed it
            assert screen.model_state == "ready", screen.model_error
            session = screen.session
            assert session is not None  # opened when the screen mounted
            await until(pilot, lambda: session.passages() and not screen.busy(), 600, "paper")
            heatmap = screen.query_one(Heatmap)
            log(f"session ready: {len(session.passages())} passages")

            # (a) training
            heatmap.focus()
            await pilot.pause()
            await screen.run_action("update")
            await until(pilot, lambda: stage_text(screen).startswith("train") or not screen.busy(), 900, "train stage")
            log("training: sampling")
            training, missed_a = await sample_while(
                clock, heatmap, ("right", "left"), lambda: stage_text(screen).startswith("train"), args.interval, 600
            )
            await until(pilot, lambda: not screen.busy(), 900, "update done")
            log(f"training: {len(training)} samples")

            # (b) streaming candidates for P2, moving between the base and v1 rows
            second = session.passages()[1]
            heatmap.select_column(second.id)
            screen.passage_id = second.id
            screen.refresh_all()
            heatmap.focus()
            await pilot.pause()
            await screen.run_action("generate")
            cards = screen.query_one("#cards", CandidateList)
            streaming = lambda: screen.busy() and any(c.status == "streaming" for c in cards.cards)  # noqa: E731
            await until(pilot, lambda: streaming() or not screen.busy(), 600, "first tokens")
            log("streaming: sampling")
            stream, missed_b = await sample_while(clock, heatmap, ("up", "down"), streaming, args.interval, 600)
            await until(pilot, lambda: not screen.busy(), 600, "generation done")
            log(f"streaming: {len(stream)} samples")
            app.exit()
    result["training"] = {**figures(training), "missed": missed_a}
    result["streaming"] = {**figures(stream), "missed": missed_b}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="the embedded model instead of the scripted fake")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between key presses")
    parser.add_argument("--size", default="100x30", help="terminal size WxH")
    parser.add_argument("--first-frame-runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("SEAL_HOME", tempfile.mkdtemp(prefix="seal-bench-"))
    log("first frame (subprocess)...")
    first = first_frame_subprocess(args.first_frame_runs)
    result = asyncio.run(bench(args))
    result["first_frame_s"] = {"runs": first, "median": statistics.median(first) if first else None}
    result["loadavg_1min"] = round(os.getloadavg()[0], 2)
    result["cpus"] = os.cpu_count()
    if not args.real:
        result["note"] = "fake mode: training and token stream are time.sleep, so the CPU is not loaded"
    p95 = [result[k].get("p95_ms") for k in ("training", "streaming")]
    result["target_p95_ms"] = 50
    result["ok"] = all(v is not None and v <= 50 for v in p95) and bool(first) and statistics.median(first) < 1.0
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
