"""Where the model runs: a GPU when one is there, else the CPU.

torch trains and scores on CUDA (bfloat16 autocast, weights in fp32) when it sees a GPU;
llama.cpp offloads every layer when it was built with GPU support (install.sh --cuda).
SEAL_DEVICE=cpu keeps both on the CPU; SEAL_GPU_LAYERS=N offloads only N layers.
"""

from __future__ import annotations

import os

from engine.config import ConfigError

DEVICE_VARIABLE = "SEAL_DEVICE"
LAYERS_VARIABLE = "SEAL_GPU_LAYERS"


class DeviceError(ConfigError):
    """A device setting in the environment has a value seal cannot use."""


def wanted_device() -> str:
    """SEAL_DEVICE: auto (the default), cpu or cuda."""
    value = os.environ.get(DEVICE_VARIABLE, "auto").strip().lower() or "auto"
    if value not in ("auto", "cpu", "cuda"):
        raise DeviceError(f"{DEVICE_VARIABLE}={value}: use auto, cpu or cuda")
    return value


def torch_device() -> str:
    """The torch device training and scoring use: cuda when asked for or seen, else cpu."""
    wanted = wanted_device()
    if wanted == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if wanted == "cuda":
        raise DeviceError(f"{DEVICE_VARIABLE}=cuda, but torch sees no GPU (a CPU-only torch build?)")
    return "cpu"


def gpu_layers(offload_supported: bool) -> int:
    """Layers llama.cpp puts on the GPU: all (-1) when its build can offload, else none."""
    if wanted_device() == "cpu" or not offload_supported:
        return 0
    value = os.environ.get(LAYERS_VARIABLE, "").strip()
    if not value:
        return -1
    if not value.lstrip("-").isdigit() or int(value) < -1:
        raise DeviceError(f"{LAYERS_VARIABLE}={value}: use a number of layers, or -1 for all")
    return int(value)


def check_environment() -> None:
    """Refuse a bad SEAL_DEVICE or SEAL_GPU_LAYERS before any model loads."""
    wanted_device()
    gpu_layers(offload_supported=True)


def describe_torch(device: str) -> str:
    """One line for the app and the CLI: where training and scoring run, and in what precision."""
    if device != "cuda":
        return "torch: CPU"
    import torch

    precision = "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return f"torch: GPU {torch.cuda.get_device_name(0)} ({precision})"
