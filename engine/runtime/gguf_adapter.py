"""A peft LoRA folder as a GGUF LoRA adapter that llama.cpp loads (`--lora`, hot-swap).

Contract: `peft_to_gguf(adapter_dir, out_path, base_gguf)` reads `adapter_config.json` and
`adapter_model.safetensors`, checks every pair against the base GGUF it will be applied to,
and writes one file atomically. The result computes what transformers+peft computes with
the same adapter when llama.cpp applies it at scale 1.0:

- llama.cpp adds `scale * alpha / rank * B @ A` to a weight, with `alpha` the file's
  `adapter.lora.alpha` and `rank` read from each B tensor. peft adds `s * B @ A` with
  `s = alpha / r` (or `alpha / sqrt(r)` with rsLoRA, per-module ranks and alphas with
  rank_pattern / alpha_pattern). Where the two differ, the ratio is folded into B.
- Tensors are named as the base GGUF names its weights (gguf's TensorNameMap), A stored as
  peft stores it (rank x in), B as (out x rank), float32.
- The llama converter stores q_proj and k_proj with rows interleaved per head for its rotary
  embedding; B (the output side) gets the same permutation, k with the KV head count.

Anything llama.cpp would apply differently from peft is refused with AdapterExportError.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from engine.atomic import partial_of, publish

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
_PEFT_PREFIX = "base_model.model."
_KEY = re.compile(r"^(?P<module>.+)\.lora_(?P<half>[AB])\.weight$")

# Architectures whose converter permutes q/k rows (True) or verifiably does not (False).
# Other architectures with a name map still export v/o/MLP adapters; q/k are refused there.
_QK_PERMUTED = {"llama": True, "qwen2": False}


class AdapterExportError(Exception):
    """The adapter cannot become a GGUF adapter; the message says why in one line."""


@dataclass(frozen=True)
class _Base:
    """What the export needs from the base GGUF."""

    arch: str
    n_head: int
    n_head_kv: int
    n_blocks: int
    shapes: dict[str, tuple[int, ...]]  # GGUF tensor name -> ggml ne (in, out, ...)


_base_cache: dict[tuple, _Base] = {}


def _read_base(path: Path) -> _Base:
    """Metadata and tensor shapes of the base GGUF (parsed once per file version: ~2 s)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise AdapterExportError(f"{path}: base model not readable ({exc.strerror or exc})") from None
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _base_cache:
        return _base_cache[key]
    import gguf

    try:
        reader = gguf.GGUFReader(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is one line
        raise AdapterExportError(f"{path}: not a readable GGUF ({exc})") from None

    def field(name: str, default=None):
        f = reader.get_field(name)
        return f.contents() if f is not None else default

    arch = field("general.architecture")
    if not arch:
        raise AdapterExportError(f"{path}: no general.architecture in the base GGUF")
    n_head = int(field(f"{arch}.attention.head_count", 0) or 0)
    base = _Base(
        arch=arch,
        n_head=n_head,
        n_head_kv=int(field(f"{arch}.attention.head_count_kv", n_head) or n_head),
        n_blocks=int(field(f"{arch}.block_count", 0) or 0),
        shapes={t.name: tuple(int(n) for n in t.shape) for t in reader.tensors},
    )
    _base_cache[key] = base
    return base


def prepare_base(base_gguf: str | os.PathLike) -> None:
    """Parse the base GGUF's metadata now (about 2 s, once per file), so that exporting each
    new adapter later takes milliseconds."""
    _read_base(Path(base_gguf))


def _name_map(base: _Base):
    import gguf

    archs = {name: arch for arch, name in gguf.MODEL_ARCH_NAMES.items()}
    if base.arch not in archs:
        raise AdapterExportError(f"architecture {base.arch!r} has no tensor name map in gguf")
    return gguf.TensorNameMap(archs[base.arch], base.n_blocks)


def _adaptable():
    """GGUF tensor kinds llama.cpp applies a LoRA pair to in a plain matmul."""
    from gguf import MODEL_TENSOR as T

    return {T.ATTN_Q, T.ATTN_K, T.ATTN_V, T.ATTN_OUT, T.ATTN_QKV, T.FFN_GATE, T.FFN_UP, T.FFN_DOWN}


def _read_config(folder: Path) -> dict:
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except FileNotFoundError:
        raise AdapterExportError(f"{folder}: no {CONFIG_FILE} (not a peft adapter folder)") from None
    except (OSError, ValueError) as exc:
        raise AdapterExportError(f"{folder / CONFIG_FILE}: unreadable ({exc})") from None
    kind = str(config.get("peft_type", "")).upper()
    if kind != "LORA":
        raise AdapterExportError(f"{folder}: a {kind or 'unknown'} adapter, only LoRA is supported")
    refusals = [
        ("use_dora", "DoRA adapters (use_dora) have a magnitude vector llama.cpp cannot apply"),
        ("fan_in_fan_out", "fan_in_fan_out adapters (Conv1D layers) are not supported"),
        ("lora_bias", "LoRA biases (lora_bias) are not supported by llama.cpp"),
        ("layer_replication", "layer_replication adapters are not supported"),
        ("modules_to_save", "fully trained modules (modules_to_save) cannot be a LoRA adapter"),
    ]
    for key, why in refusals:
        if config.get(key):
            raise AdapterExportError(f"{folder.name}: {why}")
    if config.get("bias", "none") != "none":
        raise AdapterExportError(f"{folder.name}: trained biases (bias={config['bias']!r}) are not supported")
    if not config.get("lora_alpha") or not config.get("r"):
        raise AdapterExportError(f"{folder.name}: adapter_config.json needs positive r and lora_alpha")
    return config


def _pattern_value(patterns: dict | None, module: str, default):
    """peft's rank_pattern / alpha_pattern lookup: a key matches a module name suffix."""
    for key, value in (patterns or {}).items():
        if re.fullmatch(rf"(.*\.)?{key}", module):
            return value
    return default


def _permute_rows(b, n_head: int):
    """The llama converter's q/k row order: per head, interleave its two rotary halves."""
    rows = b.shape[0]
    if n_head <= 0 or rows % (2 * n_head):
        raise AdapterExportError(f"cannot permute {rows} rows for {n_head} heads")
    return b.reshape(n_head, 2, rows // n_head // 2, *b.shape[1:]).swapaxes(1, 2).reshape(b.shape)


def _pairs(folder: Path) -> dict[str, dict[str, object]]:
    from safetensors.numpy import load_file

    path = folder / WEIGHTS_FILE
    if not path.is_file():
        raise AdapterExportError(f"{folder}: no {WEIGHTS_FILE}")
    try:
        state = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises several kinds
        raise AdapterExportError(f"{path}: unreadable ({exc})") from None
    pairs: dict[str, dict[str, object]] = {}
    for key, value in state.items():
        m = _KEY.match(key)
        if m is None:
            what = key.removeprefix(_PEFT_PREFIX)
            if "lora_magnitude_vector" in key:
                raise AdapterExportError(f"{folder.name}: DoRA weights ({what}) cannot be applied by llama.cpp")
            if "lora_embedding" in key:
                raise AdapterExportError(f"{folder.name}: embedding LoRA ({what}) cannot be applied by llama.cpp")
            raise AdapterExportError(f"{folder.name}: weight {what} is not a LoRA A/B matrix")
        module = m["module"].removeprefix(_PEFT_PREFIX)
        pairs.setdefault(module, {})[m["half"]] = value
    if not pairs:
        raise AdapterExportError(f"{folder.name}: the adapter has no LoRA weights")
    return pairs


def peft_to_gguf(adapter_dir: str | os.PathLike, out_path: str | os.PathLike, base_gguf: str | os.PathLike) -> Path:
    """Write the peft LoRA in `adapter_dir` as a GGUF LoRA adapter for `base_gguf`."""
    import numpy as np

    folder, out, base_path = Path(adapter_dir), Path(out_path), Path(base_gguf)
    config = _read_config(folder)
    base = _read_base(base_path)
    names = _name_map(base)
    adaptable = _adaptable()
    q_kind, k_kind = _qk_kinds()
    alpha = float(config["lora_alpha"])
    tensors: list[tuple[str, object]] = []
    for module in sorted(pairs := _pairs(folder), key=_natural):
        pair = pairs[module]
        if set(pair) != {"A", "B"}:
            raise AdapterExportError(f"{module}: lora_A and lora_B must both be present")
        found = names.get_type_and_name(module)
        if found is None:
            raise AdapterExportError(f"{module}: no {base.arch} tensor of that name in the base GGUF")
        kind, gguf_name = found
        if kind not in adaptable:
            raise AdapterExportError(f"{module}: llama.cpp cannot apply a LoRA to {gguf_name}")
        a = np.asarray(pair["A"], dtype=np.float32)
        b = np.asarray(pair["B"], dtype=np.float32)
        weight = gguf_name + ".weight"
        shape = base.shapes.get(weight)
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
            raise AdapterExportError(f"{module}: rank mismatch, A {a.shape} and B {b.shape}")
        if shape is None or len(shape) != 2 or (a.shape[1], b.shape[0]) != shape:
            raise AdapterExportError(
                f"{module}: shape {b.shape[0]}x{a.shape[1]} does not fit {weight} of the base "
                f"({'absent' if shape is None else 'x'.join(map(str, shape[::-1]))})"
            )
        rank = a.shape[0]
        r_cfg = int(_pattern_value(config.get("rank_pattern"), module, config["r"]))
        if r_cfg != rank:
            raise AdapterExportError(f"{module}: rank {rank} in the weights, {r_cfg} in the config")
        m_alpha = float(_pattern_value(config.get("alpha_pattern"), module, alpha))
        peft_scale = m_alpha / (math.sqrt(rank) if config.get("use_rslora") else rank)
        fold = peft_scale / (alpha / rank)  # llama.cpp applies alpha / rank
        if fold != 1.0:
            b = b * np.float32(fold)
        if kind in (q_kind, k_kind):
            permuted = _QK_PERMUTED.get(base.arch)
            if permuted is None:
                raise AdapterExportError(
                    f"{module}: q/k adapters for architecture {base.arch!r} are not supported "
                    f"(row layout not verified); adapt v/o/MLP modules only"
                )
            if permuted:
                heads = base.n_head if kind == q_kind else base.n_head_kv
                b = _permute_rows(b, heads)
        tensors += [(weight + ".lora_a", np.ascontiguousarray(a)), (weight + ".lora_b", np.ascontiguousarray(b))]
    _write(out, base.arch, alpha, tensors)
    return out


def _qk_kinds():
    from gguf import MODEL_TENSOR as T

    return (T.ATTN_Q, T.ATTN_K)


def _natural(name: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _write(out: Path, arch: str, alpha: float, tensors: list) -> None:
    """Write the GGUF next to `out` and rename it into place (never a half-written file)."""
    import gguf

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_of(out)
    try:
        writer = gguf.GGUFWriter(tmp, arch)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
        for name, array in tensors:
            writer.add_tensor(name, array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        publish(tmp, out)  # on disk before it is in place
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
