"""CI fails when a test it needs is skipped (tests/require_all.py, SEAL_REQUIRE_ALL=1 in .ci/run)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPING = """
import pytest

def test_runs():
    pass

def test_needs_an_extra():
    pytest.importorskip("no_such_extra_module", reason="needs the extra")
"""


def pytest_in(folder: Path, require: str | None) -> subprocess.CompletedProcess:
    (folder / "test_skips.py").write_text(SKIPPING)
    env = {k: v for k, v in os.environ.items() if k != "SEAL_REQUIRE_ALL"}
    env["PYTHONPATH"] = str(ROOT)
    if require is not None:
        env["SEAL_REQUIRE_ALL"] = require
    command = [sys.executable, "-m", "pytest", "-q", "-p", "tests.require_all", "-p", "no:cacheprovider"]
    return subprocess.run(
        [*command, "--rootdir", str(folder), str(folder / "test_skips.py")],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_skip_fails_the_run_when_every_test_is_required(tmp_path):
    done = pytest_in(tmp_path, "1")
    assert done.returncode == 1, done.stdout
    assert "1 failed, 1 passed" in done.stdout
    assert "skipped (Skipped: needs the extra), and SEAL_REQUIRE_ALL=1 requires every test to run" in done.stdout


def test_a_skip_is_a_skip_otherwise(tmp_path):
    done = pytest_in(tmp_path, None)
    assert done.returncode == 0 and "1 passed, 1 skipped" in done.stdout, done.stdout


def test_ci_requires_every_test():
    assert "SEAL_REQUIRE_ALL=1" in (ROOT / ".ci" / "run").read_text()
