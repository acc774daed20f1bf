"""The written contract of a model runtime (engine.runtime.protocol.Runtime) holds for the real
runtime and for the scripted one the fast tests use, so the fake cannot drift from the real
thing unnoticed: checked here at run time, and by mypy through `_static_check`."""

import inspect
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import ModelConfig, TrainConfig
from engine.runtime import Runtime, build_runtime
from engine.runtime.local import LocalRuntime
from engine.runtime.served import ServedWriter
from tools.scripted_runtime import FakeRuntime

ROOT = Path(__file__).resolve().parents[2]
METHODS = sorted(
    name for name, value in vars(Runtime).items() if not name.startswith("_") and inspect.isfunction(value)
)


def _static_check(fake: FakeRuntime, local: LocalRuntime, served: ServedWriter) -> list[Runtime]:
    """mypy fails here when any of these classes stops matching the protocol."""
    return [fake, local, served]


@pytest.fixture
def local(monkeypatch, tmp_path) -> Iterator[LocalRuntime]:
    """A LocalRuntime that loads nothing: the model files' check is skipped."""
    monkeypatch.setattr("engine.runtime.local.check_model_files", lambda config: tmp_path / "model.gguf")
    runtime = LocalRuntime(ModelConfig(), TrainConfig())
    yield runtime
    runtime.close()


def _parameters(function) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(function).parameters.values() if p.name != "self"]


def test_the_protocol_names_what_the_session_loop_calls():
    assert METHODS == sorted(
        [
            "activate",
            "answer_nll",
            "chat_prompt",
            "close",
            "greedy_answers",
            "identity",
            "load",
            "save_adapter",
            "stream_chat",
            "train",
            "trial",
        ]
    )
    assert isinstance(vars(Runtime)["name"], property)


@pytest.mark.parametrize("cls", [LocalRuntime, FakeRuntime, ServedWriter], ids=lambda c: c.__name__)
@pytest.mark.parametrize("method", METHODS)
def test_each_runtime_takes_the_protocols_arguments(cls, method):
    wanted = _parameters(getattr(Runtime, method))
    given = _parameters(getattr(cls, method))
    assert [p.name for p in given[: len(wanted)]] == [p.name for p in wanted], f"{cls.__name__}.{method}"
    for want, have in zip(wanted, given):
        if want.default is not inspect.Parameter.empty:
            assert have.default is not inspect.Parameter.empty, f"{cls.__name__}.{method}({have.name}) needs a default"
    extra = given[len(wanted) :]
    assert all(p.default is not inspect.Parameter.empty for p in extra), f"{cls.__name__}.{method} wants more"


def test_both_runtimes_are_runtimes(local):
    fake = FakeRuntime()
    assert isinstance(fake, Runtime) and isinstance(fake.name, str)
    assert isinstance(local, Runtime) and local.name == "model.gguf"


def test_the_factory_builds_the_local_runtime(monkeypatch, tmp_path):
    monkeypatch.setattr("engine.runtime.local.check_model_files", lambda config: tmp_path / "model.gguf")
    runtime = build_runtime(ModelConfig(), TrainConfig())
    try:
        assert isinstance(runtime, LocalRuntime) and isinstance(runtime, Runtime)
    finally:
        runtime.close()


def test_importing_the_factory_loads_no_backend():
    code = "import sys, engine.runtime\nprint('engine.runtime.local' in sys.modules, 'torch' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "False"]
