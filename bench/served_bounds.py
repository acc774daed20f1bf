"""`seal run` against four misbehaving OpenAI-compatible servers, on the embedded model: how
long each run takes, its peak memory, what it says, and the longest self-edit it stored.

Each server is `python -m tools.openai_stub MODE` in a process of its own (so its 50 MB do
not count as seal's): endless (a stream that never finishes), long-line (one 50 MB line),
drip (the stream one byte every 5 s), big-body (a 50 MB JSON answer). Each `seal run` starts
a fresh session on a one-passage paper with `--writer-url URL --writer-timeout 30` (one
self-edit, one epoch) and is timed from start to exit; its peak memory is the largest
resident size of it and the processes it waited for (wait4).

    .venv/bin/python bench/served_bounds.py [--modes endless,long-line,drip,big-body] [--timeout 30]

Prints one JSON line per server. Targets: each run ends within 150 s with one line or a
bounded self-edit, under 3 GB, and no stored self-edit over 64 KB.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPER = """# Velmora Observatory

The Velmora Observatory was founded in 1873 by the astronomer Ilse Narrowgate on the island
of Quenby, in the cold northern sea. Its main telescope, the Brass Eye, has a mirror of 71
centimetres and is turned by a clockwork drive that the keepers wind every six hours.
"""


def run_against(mode: str, timeout: float, work: Path) -> dict:
    stub = subprocess.Popen(
        [sys.executable, "-m", "tools.openai_stub", mode], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert stub.stdout is not None
        url = stub.stdout.readline().strip()
        home = work / mode
        paper = work / "paper.md"
        paper.write_text(PAPER)
        command = [sys.executable, "-m", "seal_cli.main", "run", str(paper), "--session", "bounds"]
        command += ["--writer-url", url, "--writer-timeout", f"{timeout:g}", "--edits", "1", "--epochs", "1"]
        env = {**os.environ, "SEAL_HOME": str(home)}
        started = time.perf_counter()
        seal = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(seal.pid, 0)
        seconds = time.perf_counter() - started
        seal.returncode = os.waitstatus_to_exitcode(status)
        stderr = seal.stderr.read().decode() if seal.stderr else ""
    finally:
        stub.kill()
        stub.wait()
    said = [line for line in stderr.splitlines() if line.startswith("seal:")]
    return {
        "server": mode,
        "seconds": round(seconds, 1),
        "exit": seal.returncode,
        "peak_mb": round(usage.ru_maxrss / 1024),
        "said": said[-1] if said else "",
        "traceback": "Traceback" in stderr,
        "longest_self_edit_bytes": longest(home / "seal.db"),
    }


def longest(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COALESCE(MAX(LENGTH(CAST(text AS BLOB))), 0) FROM self_edits").fetchone()[0]
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="endless,long-line,drip,big-body")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="seal-bounds-") as work:
        for mode in args.modes.split(","):
            print(json.dumps(run_against(mode, args.timeout, Path(work))), flush=True)


if __name__ == "__main__":
    main()
