"""Crash points that touch files, on the real embedded model: a `seal run` killed while it
writes an adapter, resumed, and checked as the fake-runtime matrix checks its sessions.

One home, one chain (time is short): the run is killed at "adapter-written" (v1 under its
temporary name), the resume at "adapter-saved" (v1 in place, no row), the next resume at
"update-commit" (v2's transaction open), and the last resume runs to the end.
"""

import json
import sqlite3
from pathlib import Path

import pytest

from engine.atomic import temp_target
from tests import crash_runner as cr
from tests.conftest import embedded_model_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not embedded_model_available(), reason="the embedded model is not installed"),
]

RUN = [
    "-m",
    "seal_cli.main",
    "run",
    str(cr.PAPER),
    "--session",
    "k",
    "--edits",
    "1",
    "--max-tokens",
    "32",
    "--epochs",
    "1",
    "--passage-repeats",
    "2",
    "--accept",
    "all",
    "--seed",
    "3",
    "--json",
]


def temps(folder: Path, target: str) -> list[str]:
    """seal's temporary names in folder for `target` (engine.atomic)."""
    return sorted(p.name for p in folder.iterdir() if (temp_target(p.name) or ("",))[0] == target)


def rows(home, sql):
    conn = sqlite3.connect(f"file:{home / 'seal.db'}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_a_run_killed_while_writing_adapters_resumes_whole(seal_home: Path) -> None:
    adapters = seal_home / "k" / "adapters"
    decided: dict[int, tuple[str, str]] = {}
    # what each kill leaves, as the point promises: proof that it died there
    left = {
        "adapter-written:1": lambda: (
            [p.name for p in cr.seal_leftovers(adapters)] == [".v0001.seal-saving", *temps(adapters, "v0001")]
            and len(temps(adapters, "v0001")) == 1
            and not (adapters / "v0001").exists()
        ),
        "adapter-saved:1": lambda: (adapters / "v0001").is_dir() and not rows(seal_home, "SELECT * FROM updates"),
        "update-commit:2": lambda: (
            (adapters / "v0002").is_dir() and rows(seal_home, "SELECT version FROM updates") == [(1,)]
        ),
    }
    for point, promised in left.items():
        done = cr.run(RUN, seal_home, point, timeout=300)
        assert done.returncode == -9, f"{point}: not killed there (exit {done.returncode}): {done.stderr[-2000:]}"
        assert promised(), f"{point}: the kill did not leave what the point promises"
        for edit_id, now in cr.decisions_in(seal_home / "seal.db").items():
            assert decided.setdefault(edit_id, now) == now, f"self-edit {edit_id} changed between kills"
        assert cr.check_reopened(seal_home, "k") == [], f"recovery after {point}"

    done = cr.run(RUN, seal_home, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert len(summary["updates"]) == 3 and summary["matrix"]["rows"] == ["base", "v1", "v2", "v3"]
    assert decided, "edits were accepted before the kills"
    assert cr.check_home(seal_home, "k", decided, files=cr.PEFT_FILES) == []
