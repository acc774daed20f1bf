"""The training/scoring copy of the model: transformers + peft on the same weights.

Loaded from a local Hugging Face folder, or dequantized from the GGUF once and cached as
safetensors (reloads in well under a second). Never downloads, never unpickles, never runs
remote code.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from engine.atomic import discard_own, partial_of, publish
from engine.config import ModelConfig
from engine.failures import writing
from engine.runtime.devices import torch_device
from engine.runtime.models import thread_count
from engine.runtime.protocol import LoraShape


class ModelLoadError(Exception):
    """The training model could not be loaded; the message says which file and why."""


def cache_home() -> Path:
    """Where converted models are kept: $SEAL_CACHE, else ~/.cache/seal."""
    return Path(os.environ.get("SEAL_CACHE") or Path.home() / ".cache" / "seal").expanduser()


def _file_key(path: Path) -> str:
    """A cheap content key: size plus hashes of the first and last MiB."""
    h = hashlib.sha256(str(path.stat().st_size).encode())
    with path.open("rb") as f:
        h.update(f.read(1 << 20))
        f.seek(max(0, path.stat().st_size - (1 << 20)))
        h.update(f.read(1 << 20))
    return h.hexdigest()[:16]


def converted_dir(gguf: Path) -> Path:
    return cache_home() / "models" / f"{gguf.stem}-{_file_key(gguf)}"


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantize a GGUF into a safetensors model folder, written atomically."""
    _quiet_transformers()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    except Exception as exc:  # transformers raises many kinds for unsupported files
        raise ModelLoadError(f"{gguf}: transformers cannot read this GGUF ({exc})") from None
    # A GGUF-loaded model refuses save_pretrained until its quantizer is dropped.
    model.hf_quantizer = None  # type: ignore[assignment]  # undeclared in transformers: typed by nn.Module.__getattr__
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = partial_of(target)
    tmp.mkdir(parents=True)
    try:
        with writing(target):  # a full disk: the OSError safetensors carries, naming the folder
            model.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
    except BaseException:
        discard_own(target)
        raise
    try:
        publish(tmp, target)
    except FileExistsError:  # another process converted it meanwhile: the same weights
        pass


def _quiet_transformers() -> None:
    """No download-style progress bars or deprecation chatter on the user's terminal."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")


def model_folder(config: ModelConfig, gguf: Path) -> Path:
    """The HF folder to train on: the user's, or the GGUF's cached conversion."""
    if config.hf_dir:
        folder = Path(config.hf_dir).expanduser()
        if not (folder / "config.json").is_file():
            raise ModelLoadError(f"{folder}: not a Hugging Face model folder (no config.json)")
        if not any(folder.glob("*.safetensors")):
            raise ModelLoadError(f"{folder}: no .safetensors weights (pickled weights are not loaded)")
        return folder
    folder = converted_dir(gguf)
    if not (folder / "config.json").is_file():
        _convert_gguf(gguf, folder)
    return folder


@dataclass
class LoadedModel:
    """A peft-wrapped causal LM with one LoRA adapter slot, and its tokenizer."""

    model: object
    tokenizer: object
    folder: Path


def load_peft_model(config: ModelConfig, gguf: Path, shape: LoraShape) -> LoadedModel:
    """Load the base weights in fp32 and wrap them with a fresh LoRA adapter ("default") of that shape."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()
    folder = model_folder(config, gguf)
    torch.set_num_threads(thread_count(config.threads))
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        base = AutoModelForCausalLM.from_pretrained(
            folder, dtype=torch.float32, local_files_only=True, use_safetensors=True, trust_remote_code=False
        )
    except Exception as exc:
        raise ModelLoadError(f"{folder}: cannot load model ({exc})") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    names = {name.rsplit(".", 1)[-1] for name, _ in base.named_modules()}
    missing = [m for m in shape.target_modules if m not in names]
    if missing:
        raise ModelLoadError(f"target modules not in this model: {', '.join(missing)}")
    lora = LoraConfig(
        r=shape.rank,
        lora_alpha=shape.alpha,
        lora_dropout=shape.dropout,
        target_modules=list(shape.target_modules),
        task_type="CAUSAL_LM",
        bias="none",
    )
    torch.manual_seed(shape.seed)
    device = torch_device()  # a GPU when torch sees one (engine.runtime.devices)
    if device != "cpu":
        base = base.to(device)  # type: ignore[arg-type]  # transformers' @wraps on .to loses the bound self
    model = get_peft_model(base, lora)
    return LoadedModel(model=model, tokenizer=tokenizer, folder=folder)
