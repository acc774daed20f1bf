"""The written contract of a model runtime (engine.runtime.protocol: the Writer and Learner
roles, and the Runtime that plays both) holds for every runtime against the protocols it
claims: the local one (both), the served writer (a writer), the pair the factory makes of them,
and the scripted one the fast tests use (both), so the fake cannot drift from the real thing
unnoticed: checked here at run time, and by mypy through `_static_check`."""

import inspect
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import ModelConfig, TrainConfig
from engine.runtime import Learner, LoraShape, Runtime, RuntimeStatus, Writer, build_runtime
from engine.runtime.local import LocalRuntime
from engine.runtime.pair import Pair
from engine.runtime.served import ServedWriter
from tools.scripted_runtime import FakeRuntime

ROOT = Path(__file__).resolve().parents[2]
URL = "http://127.0.0.1:9"


def members(protocol) -> list[str]:
    """The methods and properties a protocol names, its parents' included."""
    return sorted(
        {
            name
            for cls in protocol.__mro__
            if cls.__name__ not in ("object", "Protocol", "Generic")
            for name, value in vars(cls).items()
            if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property))
        }
    )


def _static_check(
    fake: FakeRuntime, local: LocalRuntime, served: ServedWriter, pair: Pair
) -> tuple[list[Runtime], list[Writer], list[Learner]]:
    """mypy fails here when any of these classes stops matching the protocols it claims."""
    return [fake, local, pair], [fake, local, pair, served], [fake, local, pair]


@pytest.fixture
def local(monkeypatch, tmp_path) -> Iterator[LocalRuntime]:
    """A LocalRuntime that loads nothing: the model files' check is skipped."""
    monkeypatch.setattr("engine.runtime.local.check_model_files", lambda config: tmp_path / "model.gguf")
    runtime = LocalRuntime(ModelConfig(), LoraShape.of(TrainConfig()))
    yield runtime
    runtime.close()


@pytest.fixture
def runtimes(local) -> dict[str, object]:
    """One of each runtime, with the protocols it claims."""
    return {"local": local, "fake": FakeRuntime(), "served": ServedWriter(URL), "pair": Pair(ServedWriter(URL), local)}


CLAIMS = {
    "local": (Writer, Learner, Runtime),
    "fake": (Writer, Learner, Runtime),
    "served": (Writer,),
    "pair": (Writer, Learner, Runtime),
}


def _parameters(function) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(function).parameters.values() if p.name != "self"]


def test_the_roles_name_what_the_session_loop_calls():
    assert members(Writer) == ["activate", "close", "stream_chat", "who", "writer_steps"]
    assert members(Learner) == sorted(
        [
            "answer_nll",
            "chat_prompt",
            "close",
            "fits",
            "greedy_answers",
            "identity",
            "learner_steps",
            "name",
            "save_adapter",
            "status",
            "train",
            "trial",
        ]
    )
    assert members(Runtime) == sorted(set(members(Writer)) | set(members(Learner)) | {"load", "load_steps"})
    assert isinstance(vars(Learner)["name"], property)


@pytest.mark.parametrize("which", sorted(CLAIMS))
def test_each_runtime_is_what_it_claims_and_no_more(runtimes, which):
    runtime = runtimes[which]
    for protocol in (Writer, Learner, Runtime):
        assert isinstance(runtime, protocol) == (protocol in CLAIMS[which]), f"{which} as {protocol.__name__}"


@pytest.mark.parametrize("which", sorted(CLAIMS))
def test_each_runtime_takes_the_protocols_arguments(runtimes, which):
    runtime = runtimes[which]
    for protocol in CLAIMS[which]:
        for method in members(protocol):
            if isinstance(inspect.getattr_static(protocol, method), property):
                assert isinstance(getattr(runtime, method), str), f"{which}.{method}"
                continue
            wanted = _parameters(getattr(protocol, method))
            given = _parameters(getattr(runtime, method))
            assert [p.name for p in given[: len(wanted)]] == [p.name for p in wanted], f"{which}.{method}"
            for want, have in zip(wanted, given):
                if want.default is not inspect.Parameter.empty:
                    assert have.default is not inspect.Parameter.empty, f"{which}.{method}({have.name}) needs a default"
            extra = given[len(wanted) :]
            assert all(p.default is not inspect.Parameter.empty for p in extra), f"{which}.{method} wants more"


def test_each_runtime_tells_its_status_and_writer(runtimes):
    assert runtimes["local"].status() == RuntimeStatus("model.gguf", "not loaded", runtimes["local"].status().machine)
    assert runtimes["fake"].status() == RuntimeStatus("fake-model.gguf")
    assert runtimes["pair"].status().name == "model.gguf"
    assert runtimes["local"].who(2) == "local: model.gguf v2"
    assert runtimes["fake"].who(0) == "local: fake-model.gguf v0"
    assert runtimes["served"].who(2) == runtimes["pair"].who(2) == "served: the served model at 127.0.0.1:9"


def test_the_local_runtime_trains_only_its_own_lora_shape(local):
    assert local.fits(LoraShape.of(TrainConfig(dropout=0.1, seed=3)))  # made differently, the same shape
    seal = TrainConfig(rank=32, target_modules=("q_proj", "v_proj"))
    assert not local.fits(LoraShape.of(seal))
    with pytest.raises(ValueError, match="the settings ask for rank 32 on q_proj, v_proj"):
        local.train(None, [], seal)


def test_the_factory_builds_the_local_runtime(monkeypatch, tmp_path):
    monkeypatch.setattr("engine.runtime.local.check_model_files", lambda config: tmp_path / "model.gguf")
    runtime = build_runtime(ModelConfig(), TrainConfig(rank=4))
    try:
        assert isinstance(runtime, LocalRuntime) and isinstance(runtime, Runtime)
        assert runtime.shape == LoraShape.of(TrainConfig(rank=4))
    finally:
        runtime.close()


def test_importing_the_factory_loads_no_backend():
    code = "import sys, engine.runtime\nprint('engine.runtime.local' in sys.modules, 'torch' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "False"]
