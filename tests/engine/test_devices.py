"""Where the model runs: a GPU when torch or llama.cpp can use one, the CPU when asked."""

import pytest

from engine.config import ConfigError
from engine.runtime import devices


@pytest.fixture
def gpu_seen(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


def test_torch_uses_a_gpu_it_sees_and_the_cpu_otherwise(monkeypatch, gpu_seen):
    monkeypatch.delenv(devices.DEVICE_VARIABLE, raising=False)
    assert devices.torch_device() == "cuda"
    monkeypatch.setenv(devices.DEVICE_VARIABLE, "cpu")
    assert devices.torch_device() == "cpu"


def test_asking_for_a_gpu_torch_cannot_see_names_the_problem(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv(devices.DEVICE_VARIABLE, "cuda")
    with pytest.raises(ConfigError, match="torch sees no GPU"):
        devices.torch_device()
    monkeypatch.setenv(devices.DEVICE_VARIABLE, "auto")
    assert devices.torch_device() == "cpu"


def test_llama_offloads_every_layer_only_when_its_build_can(monkeypatch):
    monkeypatch.delenv(devices.DEVICE_VARIABLE, raising=False)
    monkeypatch.delenv(devices.LAYERS_VARIABLE, raising=False)
    assert devices.gpu_layers(offload_supported=True) == -1
    assert devices.gpu_layers(offload_supported=False) == 0
    monkeypatch.setenv(devices.LAYERS_VARIABLE, "12")
    assert devices.gpu_layers(offload_supported=True) == 12
    monkeypatch.setenv(devices.DEVICE_VARIABLE, "cpu")
    assert devices.gpu_layers(offload_supported=True) == 0


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [("SEAL_DEVICE", "gpu", "SEAL_DEVICE=gpu"), ("SEAL_GPU_LAYERS", "all", "SEAL_GPU_LAYERS=all")],
)
def test_a_bad_setting_is_refused_before_anything_loads(monkeypatch, variable, value, named):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=named):
        devices.check_environment()


def test_the_cpu_is_described_plainly():
    assert devices.describe_torch("cpu") == "torch: CPU"
