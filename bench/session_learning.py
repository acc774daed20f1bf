"""What each update of a session taught, per probe family: its own passage's change, the
specific gain (the other passages' change at the same update minus the own change), every
passage's end against base, and the drift change per update. Held-out probes only.

Run a session on the first COUNT passages of a paper (the defaults, a fresh home that is
deleted afterwards), or read one a `seal run` left in a home:

    .venv/bin/python bench/session_learning.py run bench/data/invented_facts.json --count 4 --seed 11
    .venv/bin/python bench/session_learning.py read --home DIR --session demo

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import GenerationConfig, SessionConfig  # noqa: E402
from engine.domain import PaperDraft  # noqa: E402
from engine.papers.ingest import read_paper  # noqa: E402
from engine.runtime.factory import build_runtime  # noqa: E402
from engine.sessions.home import Home  # noqa: E402
from engine.sessions.session_access import NoModel  # noqa: E402


def learning(session) -> dict:
    """Per family: own change, specific gain, end minus base and drift change per update."""
    out: dict[str, object] = {}
    for family in session.families():
        m = session.matrix("answer_nll", family)
        own, specific, drift = [], [], []
        for passage_id, version in sorted(m.learned_at.items(), key=lambda item: item[1]):
            before = version - 1
            own.append(m.cell(version, passage_id) - m.cell(before, passage_id))
            others = [
                m.cell(version, q) - m.cell(before, q)
                for q in m.cols
                if q != passage_id and m.cell(version, q) is not None and m.cell(before, q) is not None
            ]
            specific.append((sum(others) / len(others) if others else 0.0) - own[-1])
            drift.append(m.drift[version] - m.drift[before])
        base, end = m.values[0], m.values[-1]
        out[family] = {
            "base": [round(x, 2) for x in base],
            "own": [round(x, 2) for x in own],
            "specific_mean": round(sum(specific) / len(specific), 2) if specific else None,
            "end_minus_base": [round(e - b, 2) for b, e in zip(base, end)],
            "drift": [round(x, 2) for x in drift],
        }
    out["update_seconds"] = [round(u.seconds, 1) for u in session.updates()]
    return out


def run(args) -> dict:
    passages = [p for d in read_paper(args.paper) for p in d.passages][args.first : args.first + args.count]
    paper = PaperDraft("bench", args.paper, f"first {args.count}", tuple(passages))
    config = SessionConfig(generation=GenerationConfig(seed=args.seed))
    with tempfile.TemporaryDirectory() as tmp:
        home, runtime = Home(Path(tmp)), build_runtime(config.model, config.train)
        try:
            session = home.open("bench", config, runtime)
            session.add_paper(paper)
            start = time.perf_counter()
            session.run(lambda event: None)
            return {"seconds": round(time.perf_counter() - start, 1), **learning(session)}
        finally:
            home.close()
            runtime.close()


def read(args) -> dict:
    home = Home(Path(args.home))
    try:
        return learning(home.open(args.session, runtime=NoModel("reading needs no model"), read_only=True))
    finally:
        home.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    on_run = sub.add_parser("run")
    on_run.add_argument("paper")
    on_run.add_argument("--first", type=int, default=0)
    on_run.add_argument("--count", type=int, default=4)
    on_run.add_argument("--seed", type=int)
    on_read = sub.add_parser("read")
    on_read.add_argument("--home", required=True)
    on_read.add_argument("--session", required=True)
    args = parser.parse_args()
    print(json.dumps(run(args) if args.command == "run" else read(args)))


if __name__ == "__main__":
    main()
