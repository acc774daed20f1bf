"""Every failure is a sentence on a real full or read-only file system (a small tmpfs per
test, tests/small_disk.py; a child with a file size limit where mounting is not allowed):
`seal run` ends with one line naming the cause and the path, no traceback, and once there
is room again the same command finishes with nothing lost."""

from __future__ import annotations

import errno
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests import crash_runner as cr
from tests.small_disk import SmallDisk, available

ROOT = Path(__file__).resolve().parents[1]
RUN = ["-m", "tests.fake_cli", "run", str(cr.PAPER), "--session", "demo", "--edits", "2", "--epochs", "1"]
RUN += ["--accept", "all"]


@pytest.fixture
def disk(tmp_path):
    small = SmallDisk(tmp_path / "disk")
    try:
        yield small
    finally:
        small.close()


def one_line(done: subprocess.CompletedProcess) -> str:
    """The one line a failed command says (and that it said nothing else)."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    said = [line for line in lines if line.startswith("seal: ")]
    assert len(said) == 1 and said == lines[-1:], done.stderr[-3000:]
    return said[0]


def seal(home: Path, args=RUN, limit: int | None = None) -> subprocess.CompletedProcess:
    def file_size_limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, *args],
        env={"SEAL_HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=file_size_limit if limit else None,
    )


FREE = (0, 24 << 10, 96 << 10, 200 << 10, 400 << 10)
"""Bytes left free when the run starts: the home cannot be made, the database fills, an
adapter or a later step meets the full disk, or there is room for all of it."""


@pytest.mark.parametrize("free", FREE, ids=[f"{f >> 10}KiB" for f in FREE])
def test_a_full_disk_is_one_sentence_and_the_run_resumes_once_there_is_room(disk, free):
    if not disk.mounted:
        pytest.skip(f"cannot mount a tmpfs here ({disk.why}): test_a_file_size_limit_is_one_sentence covers it")
    home = disk.path / "home"
    disk.fill(free)
    done = seal(home)
    if done.returncode != 0:
        assert done.returncode == 1, done.stderr[-3000:]
        said = one_line(done)
        assert "the disk is full" in said, said
    disk.unfill()
    decided = cr.decisions_in(home / "seal.db")
    again = seal(home)
    assert again.returncode == 0, again.stderr[-3000:]
    assert cr.check_home(home, "demo", decided) == []


def test_a_read_only_disk_is_one_sentence(disk):
    if not disk.mounted:
        pytest.skip(f"cannot mount a tmpfs here ({disk.why})")
    home = disk.path / "home"
    assert seal(home).returncode == 0
    disk.read_only()
    before = sorted(p.name for p in (home / "demo").iterdir())
    done = seal(home, RUN[:3] + ["--session", "demo"])
    assert done.returncode == 1
    said = one_line(done)
    assert "the file system is read-only" in said and str(home) in said, said
    shown = seal(home, ["-m", "tests.fake_cli", "show", "demo"])  # SQLite's WAL needs to write to read
    assert shown.returncode == 1 and "the file system is read-only" in one_line(shown)
    assert sorted(p.name for p in (home / "demo").iterdir()) == before


def test_a_file_size_limit_is_one_sentence(tmp_path):
    """Where no tmpfs can be mounted this is the real failure a full disk gives; it runs
    everywhere as a check of its own sentence."""
    home = tmp_path / "home"
    done = seal(home, limit=20 << 10)
    assert done.returncode == 1, done.stderr[-3000:]
    said = one_line(done)
    assert "would be larger than this system lets a file be" in said, said
    again = seal(home)
    assert again.returncode == 0, again.stderr[-3000:]
    assert cr.check_home(home, "demo", cr.decisions_in(home / "seal.db")) == []


def test_this_machine_can_mount_a_small_disk(tmp_path):
    """CI runs as root: the tmpfs tests above must run there, not skip."""
    ok, why = available(tmp_path)
    if not ok:
        pytest.skip(f"cannot mount a tmpfs here: {why}")


assert errno.EFBIG  # the file size limit's error, named in engine.failures


def tiny_peft_model():
    """A peft LoRA model of a few hundred KiB of adapter weights, no language model needed."""
    import torch
    from peft import LoraConfig, get_peft_model

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q_proj = torch.nn.Linear(512, 512)

        def forward(self, x):
            return self.q_proj(x)

    return get_peft_model(Tiny(), LoraConfig(r=128, target_modules=["q_proj"]))


def test_a_full_disk_during_an_adapter_save_is_one_sentence(disk, monkeypatch, tmp_path):
    """safetensors raises its own error on a full disk: it comes out as the OSError it is,
    naming the adapter folder, and leaves nothing half-written behind."""
    if not disk.mounted:
        pytest.skip(f"cannot mount a tmpfs here ({disk.why})")
    from types import SimpleNamespace

    from engine.config import ModelConfig, TrainConfig
    from engine.runtime.local import LocalRuntime
    from engine.runtime.protocol import LoraShape
    from seal_tui.failure_text import failure_text

    monkeypatch.setattr("engine.runtime.local.check_model_files", lambda config: tmp_path / "model.gguf")
    runtime = LocalRuntime(ModelConfig(), LoraShape.of(TrainConfig()))
    model = tiny_peft_model()
    monkeypatch.setattr(runtime, "peft", lambda: SimpleNamespace(model=model))
    adapters = disk.path / "adapters"
    adapters.mkdir()
    disk.fill(64 << 10)
    with pytest.raises(OSError) as caught:
        runtime.save_adapter(adapters / "v0001")
    assert caught.value.errno == errno.ENOSPC
    assert failure_text(caught.value) == f"cannot write {adapters / 'v0001'}: the disk is full"
    assert list(adapters.iterdir()) == []
    disk.unfill()
    assert (runtime.save_adapter(adapters / "v0001") / "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_a_real_run_that_fills_the_disk_while_saving_an_adapter_resumes_once_there_is_room(tmp_path):
    """The embedded model's adapter (about 38 MB a version with its GGUF copy, rank 16 on every
    linear layer) does not fit on a 3 MB disk that holds the session's database: one
    sentence, then the same command on a grown disk finishes."""
    from tests.conftest import embedded_model_available

    if not embedded_model_available():
        pytest.skip("needs the embedded model")
    disk = SmallDisk(tmp_path / "disk", "3m")
    try:
        if not disk.mounted:
            pytest.skip(f"cannot mount a tmpfs here ({disk.why})")
        home = disk.path / "home"
        real = ["-m", "seal_cli.main", "run", str(cr.PAPER), "--session", "k", "--edits", "1", "--max-tokens", "32"]
        real += ["--epochs", "1", "--passage-repeats", "2", "--accept", "all", "--seed", "3"]
        done = seal(home, real)
        assert done.returncode == 1, done.stderr[-3000:]
        said = one_line(done)
        assert said.startswith(f"seal: cannot write {home / 'k' / 'adapters'}") and "the disk is full" in said, said
        subprocess.run(["mount", "-o", "remount,size=256m", str(disk.path)], check=True)
        again = seal(home, real)
        assert again.returncode == 0, again.stderr[-3000:]
        assert cr.check_home(home, "k", cr.decisions_in(home / "seal.db"), files=cr.PEFT_FILES) == []
    finally:
        disk.close()
