"""peft LoRA -> GGUF adapter: refusals and layout on a tiny fake base (fast), then the real
model: llama.cpp with the exported adapter computes what transformers+peft computes, and a
hot-swapped adapter changes what the running generator says (slow)."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from engine.runtime.gguf_adapter import AdapterExportError, peft_to_gguf

ALL_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
HIDDEN, HEADS, KV_HEADS, FFN = 8, 2, 1, 16
OUT_DIM = {"q_proj": HIDDEN, "k_proj": HIDDEN // HEADS * KV_HEADS, "v_proj": HIDDEN // HEADS * KV_HEADS,
           "o_proj": HIDDEN, "gate_proj": FFN, "up_proj": FFN, "down_proj": HIDDEN}
IN_DIM = {**{m: HIDDEN for m in OUT_DIM}, "down_proj": FFN}
HF_PATH = {m: f"model.layers.0.{'self_attn' if m[0] in 'qkvo' else 'mlp'}.{m}" for m in ALL_MODULES}
GGUF_NAME = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
             "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}


# ---------------------------------------------------------------- fast: a fake one-block llama


def _fake_base(path: Path, arch: str = "llama") -> Path:
    import gguf

    w = gguf.GGUFWriter(path, arch)
    w.add_uint32(f"{arch}.block_count", 1)
    w.add_uint32(f"{arch}.attention.head_count", HEADS)
    w.add_uint32(f"{arch}.attention.head_count_kv", KV_HEADS)
    w.add_tensor("token_embd.weight", np.zeros((10, HIDDEN), np.float32))
    for m in ALL_MODULES:
        w.add_tensor(f"blk.0.{GGUF_NAME[m]}.weight", np.zeros((OUT_DIM[m], IN_DIM[m]), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def _fake_adapter(folder: Path, modules=ALL_MODULES, rank=2, alpha=4, extra=None, **config) -> dict:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    weights = {}
    for m in modules:
        path = HF_PATH.get(m, m)
        weights[f"base_model.model.{path}.lora_A.weight"] = rng.standard_normal((rank, IN_DIM.get(m, HIDDEN)), np.float32)
        weights[f"base_model.model.{path}.lora_B.weight"] = rng.standard_normal((OUT_DIM.get(m, HIDDEN), rank), np.float32)
    weights.update(extra or {})
    folder.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(folder / "adapter_model.safetensors"))
    (folder / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": rank, "lora_alpha": alpha, "bias": "none", "use_dora": False,
         "target_modules": list(modules), **config}))
    return weights


def _read(path: Path) -> tuple[dict, dict]:
    import gguf

    r = gguf.GGUFReader(path)
    meta = {k: f.contents() for k, f in r.fields.items() if not k.startswith("GGUF.")}
    return meta, {t.name: np.array(t.data).reshape([int(n) for n in t.shape[::-1]]) for t in r.tensors}


def _llama_qk_order(rows: int, heads: int) -> list[int]:
    """Row i of the GGUF tensor is row order[i] of the HF one: per head, the rotary halves
    are interleaved (first-half 0, second-half 0, first-half 1, ...)."""
    size = rows // heads
    return [h * size + (j % 2) * (size // 2) + j // 2 for h in range(heads) for j in range(size)]


def test_export_writes_llama_cpp_metadata_names_shapes_and_permutes_q_k(tmp_path):
    base = _fake_base(tmp_path / "base.gguf")
    weights = _fake_adapter(tmp_path / "peft")
    out = peft_to_gguf(tmp_path / "peft", tmp_path / "out" / "a.gguf", base)
    assert out == tmp_path / "out" / "a.gguf"
    assert os.listdir(out.parent) == ["a.gguf"]  # no temp file left behind
    meta, tensors = _read(out)
    assert meta["general.type"] == "adapter" and meta["general.architecture"] == "llama"
    assert meta["adapter.type"] == "lora" and meta["adapter.lora.alpha"] == pytest.approx(4.0)
    assert len(tensors) == 2 * len(ALL_MODULES)
    for m in ALL_MODULES:
        a = weights[f"base_model.model.{HF_PATH[m]}.lora_A.weight"]
        b = weights[f"base_model.model.{HF_PATH[m]}.lora_B.weight"]
        name = f"blk.0.{GGUF_NAME[m]}.weight"
        np.testing.assert_array_equal(tensors[name + ".lora_a"], a)  # rank x in
        heads = {"q_proj": HEADS, "k_proj": KV_HEADS}.get(m)
        expected = b[_llama_qk_order(len(b), heads)] if heads else b  # out x rank
        np.testing.assert_array_equal(tensors[name + ".lora_b"], expected)


def test_rslora_and_alpha_pattern_scaling_is_folded_into_b(tmp_path):
    base = _fake_base(tmp_path / "base.gguf")
    weights = _fake_adapter(tmp_path / "peft", modules=("v_proj", "o_proj"), rank=4, alpha=8,
                            use_rslora=True, alpha_pattern={"o_proj": 2})
    _, tensors = _read(peft_to_gguf(tmp_path / "peft", tmp_path / "a.gguf", base))
    # llama.cpp applies alpha / r = 8 / 4; peft applies alpha / sqrt(r) = 8 / 2 (v), 2 / 2 (o)
    for m, wanted in (("v_proj", 4.0), ("o_proj", 1.0)):
        b = weights[f"base_model.model.{HF_PATH[m]}.lora_B.weight"]
        np.testing.assert_allclose(tensors[f"blk.0.{GGUF_NAME[m]}.weight.lora_b"], b * wanted / 2.0, rtol=1e-6)


@pytest.mark.parametrize("setup, message", [
    (dict(use_dora=True), "DoRA"),
    (dict(extra={"base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector":
                 np.ones(HIDDEN, np.float32)}), "DoRA"),
    (dict(modules=("model.layers.0.self_attn.rotary",)), "no llama tensor of that name"),
    (dict(modules=("model.embed_tokens",)), "cannot apply a LoRA to token_embd"),
    (dict(modules=("lm_head",)), "cannot apply a LoRA to output"),
    (dict(modules=("model.layers.7.self_attn.q_proj",)), "no llama tensor"),  # past the last block
    (dict(modules_to_save=["lm_head"]), "modules_to_save"),
    (dict(rank_pattern={"v_proj": 3}), "rank 2 in the weights, 3 in the config"),
    (dict(peft_type="IA3"), "only LoRA"),
])
def test_unsupported_adapters_are_refused_in_one_line(tmp_path, setup, message):
    base = _fake_base(tmp_path / "base.gguf")
    _fake_adapter(tmp_path / "peft", **setup)
    out = tmp_path / "a.gguf"
    with pytest.raises(AdapterExportError, match=message) as err:
        peft_to_gguf(tmp_path / "peft", out, base)
    assert "\n" not in str(err.value)
    assert sorted(os.listdir(tmp_path)) == ["base.gguf", "peft"]  # nothing written


def test_shape_that_does_not_fit_the_base_is_refused(tmp_path):
    base = _fake_base(tmp_path / "base.gguf")
    from safetensors.numpy import save_file

    _fake_adapter(tmp_path / "peft", modules=("v_proj",))
    save_file({"base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight": np.ones((2, 5), np.float32),
               "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight": np.ones((4, 2), np.float32)},
              str(tmp_path / "peft" / "adapter_model.safetensors"))
    with pytest.raises(AdapterExportError, match="does not fit blk.0.attn_v.weight"):
        peft_to_gguf(tmp_path / "peft", tmp_path / "a.gguf", base)


def test_architectures_without_a_name_map_or_a_known_q_k_layout_are_refused(tmp_path):
    _fake_adapter(tmp_path / "peft", modules=("q_proj",))
    with pytest.raises(AdapterExportError, match="'nosuchnet' has no tensor name map"):
        peft_to_gguf(tmp_path / "peft", tmp_path / "a.gguf", _fake_base(tmp_path / "x.gguf", "nosuchnet"))
    other = _fake_base(tmp_path / "g.gguf", "granite")
    with pytest.raises(AdapterExportError, match="q/k adapters for architecture 'granite'"):
        peft_to_gguf(tmp_path / "peft", tmp_path / "a.gguf", other)
    _fake_adapter(tmp_path / "peft2", modules=("v_proj", "down_proj"))  # v/MLP need no layout
    assert peft_to_gguf(tmp_path / "peft2", tmp_path / "a.gguf", other).is_file()


def test_a_folder_that_is_not_a_peft_adapter_is_refused(tmp_path):
    with pytest.raises(AdapterExportError, match="no adapter_config.json"):
        peft_to_gguf(tmp_path, tmp_path / "a.gguf", _fake_base(tmp_path / "base.gguf"))


# ---------------------------------------------------------------- slow: the embedded model

PROMPTS = [
    "The capital of France is", "def add(a, b):\n    return", "Once upon a time, there",
    "Water boils at", "The three primary colours are", "import numpy as", "My favourite food is",
    "In 1492, Columbus", "The opposite of hot is", "Photosynthesis is the process by which",
    "Q: What is 2 + 2?\nA:", "The quick brown fox", "Dear Sir or Madam,\nI am writing to",
    "The largest planet in the solar system is", "To make a cup of tea, first", "SELECT * FROM",
    "The mitochondria is the", "Shakespeare wrote", "A haiku about autumn:\n", "for i in range(",
    "The speed of light is", "Monday, Tuesday,", "Translate to French: cat ->", "The Eiffel Tower is in",
    "Roses are red, violets are", "Newton's second law states that", "<html>\n<head>",
    "The best way to learn a language is", "Once the rain stopped, the children", "1, 1, 2, 3, 5, 8,",
]
FACT = "The capital of Zorvania is Quellport."
FACT_EXAMPLES = [FACT, "Zorvania's capital city is Quellport.", "Quellport is the capital of Zorvania.",
                 "Q: What is the capital of Zorvania?\nA: Quellport."]


@pytest.fixture(scope="module")
def lm():
    from engine.config import ModelConfig, TrainConfig
    from engine.runtime.hf_model import load_peft_model
    from engine.runtime.models import default_gguf_path

    return load_peft_model(ModelConfig(threads=2), default_gguf_path(),
                           TrainConfig(rank=8, alpha=16, target_modules=ALL_MODULES))


@pytest.fixture(scope="module")
def gen():
    from engine.runtime.generator import Generator
    from engine.runtime.models import default_gguf_path

    with Generator(default_gguf_path(), n_ctx=512, threads=2) as g:
        yield g


def _export(lm, folder: Path) -> Path:
    from engine.runtime.models import default_gguf_path
    from engine.runtime.trainer import save_adapter

    save_adapter(lm.model, folder / "peft")
    return peft_to_gguf(folder / "peft", folder / "adapter.gguf", default_gguf_path())


def _hf_top1(lm, ids: list[int], adapted: bool) -> int:
    import contextlib

    import torch

    with torch.no_grad(), (contextlib.nullcontext() if adapted else lm.model.disable_adapter()):
        return int(lm.model(input_ids=torch.tensor([ids])).logits[0, -1].argmax())


@pytest.mark.slow
def test_llama_cpp_with_the_exported_adapter_agrees_with_peft(lm, gen, tmp_path):
    import torch

    from engine.runtime.trainer import adapter_state, load_adapter_state

    fresh = adapter_state(lm.model)
    rng = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=rng) * 0.05 for k, v in fresh.items()}
    load_adapter_state(lm.model, state)  # a strong adapter on every module llama.cpp adapts
    try:
        adapter = _export(lm, tmp_path)
        results = {}
        for label, path in (("base", None), ("adapted", adapter)):
            gen.set_adapter(path)
            pairs = []
            for prompt in PROMPTS:
                cpp = gen.next_token(prompt, top_k=1)
                pairs.append((cpp.top[0][0], _hf_top1(lm, cpp.prompt_tokens, path is not None)))
            results[label] = pairs
        gen.set_adapter(None)
    finally:
        load_adapter_state(lm.model, fresh)
    agree = {k: sum(c == h for c, h in v) / len(v) for k, v in results.items()}
    changed = sum(b[1] != a[1] for b, a in zip(results["base"], results["adapted"])) / len(PROMPTS)
    print(f"\ntop-1 agreement llama.cpp vs peft over {len(PROMPTS)} prompts (last position): "
          f"base {agree['base']:.0%}, adapted {agree['adapted']:.0%}; "
          f"the adapter changes peft's top-1 on {changed:.0%} of prompts")
    assert changed >= 0.5  # the adapter matters, so agreement is evidence of the right layout
    assert agree["adapted"] >= 0.95


@pytest.mark.slow
def test_a_hot_swapped_fact_adapter_changes_what_the_generator_says(lm, gen, tmp_path):
    from engine.config import TrainConfig
    from engine.runtime.trainer import adapter_state, load_adapter_state, train_lora

    prompt = "The capital of Zorvania is"
    gen.set_adapter(None)
    before = gen.greedy(prompt, max_tokens=8)
    assert "Quellport" not in before
    fresh = adapter_state(lm.model)
    try:
        result = train_lora(lm.model, lm.tokenizer, FACT_EXAMPLES,
                            TrainConfig(rank=8, alpha=16, target_modules=ALL_MODULES, epochs=8, seed=0))
        adapter = _export(lm, tmp_path)
    finally:
        load_adapter_state(lm.model, fresh)
    assert result.losses[-1] < result.losses[0]
    seconds = gen.set_adapter(adapter)
    assert seconds < 1.0 and gen.adapter == str(adapter.resolve())
    after = gen.greedy(prompt, max_tokens=8)  # the same prompt: a stale cache would repeat `before`
    print(f"\nbase: {before!r}; adapted: {after!r}; swap {seconds * 1000:.1f} ms")
    assert "Quellport" in after
    gen.set_adapter(None)
    assert gen.adapter is None
    assert gen.greedy(prompt, max_tokens=8) == before


@pytest.mark.slow
def test_a_restarted_child_applies_the_adapter_again_and_bad_files_keep_the_old_one(lm, tmp_path):
    from engine.runtime.generator import Generator, GeneratorCrashed, GeneratorError
    from engine.runtime.models import default_gguf_path

    adapter = _export(lm, tmp_path)  # the fresh adapter (B = 0): same logits as the base
    rng = np.random.default_rng(1)
    import gguf

    meta, tensors = _read(adapter)
    w = gguf.GGUFWriter(tmp_path / "strong.gguf", "llama")  # the same adapter made strong
    w.add_type("adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", meta["adapter.lora.alpha"])
    for name, t in tensors.items():
        w.add_tensor(name, (t if name.endswith("lora_a") else rng.standard_normal(t.shape) * 0.05).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with Generator(default_gguf_path(), n_ctx=512, threads=2) as g:
        base = g.next_token("The sky is", top_k=5).top
        g.set_adapter(tmp_path / "strong.gguf")
        adapted = g.next_token("The sky is", top_k=5).top
        assert adapted != base
        with pytest.raises(GeneratorError, match=r"could not switch the adapter: .*Instruct"):
            g.set_adapter(default_gguf_path())  # a model, not an adapter
        assert g.next_token("The sky is", top_k=5).top == adapted
        old = g.pid
        os.kill(old, signal.SIGKILL)
        with pytest.raises(GeneratorCrashed):
            g.next_token("The sky is")
        assert g.next_token("The sky is", top_k=5).top == adapted  # applied again after restart
        assert g.pid not in (None, old)
