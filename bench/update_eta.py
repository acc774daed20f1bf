"""What an update costs with and without the model's greedy answers, and how far the app's
ETA is from the time an update really had left, on the embedded model.

`record` runs the demo's session (the sample paper, 3 candidates of at most 160 tokens,
seeded) twice side by side on one loaded model, greedy answers off and on, one passage after
the other in both, and writes every engine event of each update with its time; it also
times the model's first load, step by step. `replay` feeds each recorded update to the
app's estimator (seal_tui.update_eta) as the app would see it, and prints, from the first
quarter of each update on, how far the ETA shown was from the time left.

    .venv/bin/python bench/update_eta.py record bench/results/update_eta.json [--passages 3]
    .venv/bin/python bench/update_eta.py replay bench/results/update_eta.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, replace
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import events as ev  # noqa: E402
from engine.config import GenerationConfig, ModelConfig, SessionConfig, TrainConfig  # noqa: E402
from engine.papers.ingest import read_paper  # noqa: E402
from engine.sessions.home import Home  # noqa: E402

SAMPLE = resources.files("seal_tui") / "samples" / "velmora.md"
DEMO = SessionConfig(generation=GenerationConfig(candidates=3, max_tokens=160, seed=0))
"""The app's demo session (seal_tui.screens.sessions), seeded so both runs train the same lines."""


def load_steps(runtime) -> list[tuple[str, float]]:
    """Seconds of each step of the model's load, as the app shows them."""
    out = []
    for name, step in runtime.load_steps():
        t0 = time.perf_counter()
        step()
        out.append((name, round(time.perf_counter() - t0, 2)))
    return out


def record(path: Path, passages: int) -> None:
    from engine.runtime.factory import build_runtime

    runtime = build_runtime(ModelConfig(), TrainConfig())
    loaded = load_steps(runtime)
    home = Home(tempfile.mkdtemp(prefix="seal-eta-"))
    draft = read_paper(str(SAMPLE), DEMO.passage_tokens)[0]
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    sessions = {name: home.open(f"greedy-{name}", replace(DEMO, greedy_answers=name == "on"), runtime) for name in runs}
    for session in sessions.values():
        session.add_paper(draft)
    for index in range(passages):
        for name, session in sessions.items():
            passage = session.passages()[index]
            session.generate(passage)
            events: list[dict] = []
            t0 = time.monotonic()

            def on_event(event: ev.Event) -> None:
                if not isinstance(event, ev.Token):
                    events.append({"t": round(time.monotonic() - t0, 3), "type": type(event).__name__, **asdict(event)})

            session.step(session.store.passage(passage.id), on_event)
            probes = {p.id: len(p.probes) for p in session.passages()}
            runs[name].append(
                {"passage": index + 1, "seconds": round(time.monotonic() - t0, 2), "probes": probes, "events": events}
            )
            print(f"greedy {name} P{index + 1}: {runs[name][-1]['seconds']:.1f}s", file=sys.stderr, flush=True)
    for session in sessions.values():
        session.close()
    runtime.close()
    result = {"load": loaded, "cores": os.cpu_count(), "load_average": os.getloadavg(), "runs": runs}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, default=str))


def replay_update(update: dict, timings) -> list[tuple[float, float, float]]:
    """(elapsed, ETA shown, time really left) at every event of a recorded update; `timings`
    carries what earlier updates of the same session measured, as the app's screen does."""
    from seal_tui.update_eta import UpdateEta, recorded_event

    total = update["seconds"]
    seen = sorted(update["probes"])[: update["passage"]]
    eta = UpdateEta(sum(update["probes"][pid] for pid in seen), update["probes"], timings)
    out = []
    for row in update["events"]:
        eta.event(recorded_event(row), row["t"])
        shown = eta.left(row["t"])
        if shown is not None:
            out.append((row["t"], shown, total - row["t"]))
    return out


def replay(path: Path) -> None:
    data = json.loads(path.read_text())
    summary = {"load": data["load"], "updates": []}
    from seal_tui.update_eta import Timings

    for name, updates in data["runs"].items():
        timings = Timings()
        for update in updates:
            update["probes"] = {int(k): v for k, v in update["probes"].items()}
            points = [p for p in replay_update(update, timings) if p[0] >= update["seconds"] / 4]
            errors = [abs(shown - left) / update["seconds"] for _, shown, left in points]
            late = [abs(shown - left) / left for _, shown, left in points if left >= 10]
            scoring = sum(e["seconds"] for e in update["events"] if e["type"] == "ScoresReady")
            summary["updates"].append(
                {
                    "greedy": name,
                    "passage": update["passage"],
                    "seconds": update["seconds"],
                    "scoring_seconds": round(scoring, 1),
                    "eta_readings": len(points),
                    "max_error_of_update": round(max(errors, default=0.0), 3),
                    "max_error_of_time_left_over_10s": round(max(late, default=0.0), 3),
                }
            )
    print(json.dumps(summary, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["record", "replay"])
    parser.add_argument("path", type=Path)
    parser.add_argument("--passages", type=int, default=3)
    args = parser.parse_args()
    if args.what == "record":
        record(args.path, args.passages)
    else:
        replay(args.path)


if __name__ == "__main__":
    main()
