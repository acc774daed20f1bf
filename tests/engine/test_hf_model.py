"""The training copy of the model: a user's Hugging Face folder, checked before loading."""

import pytest

from engine.config import ModelConfig, TrainConfig
from engine.runtime.hf_model import ModelLoadError, converted_dir, load_peft_model, model_folder
from engine.runtime.models import default_gguf_path
from engine.runtime.protocol import LoraShape


def test_a_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="no config.json"):
        model_folder(ModelConfig(hf_dir=str(tmp_path)), default_gguf_path())


def test_pickled_weights_are_never_loaded(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ModelLoadError, match="pickled weights are not loaded"):
        model_folder(ModelConfig(hf_dir=str(tmp_path)), default_gguf_path())


@pytest.mark.slow
def test_a_local_hf_folder_trains_instead_of_the_gguf_copy():
    gguf = default_gguf_path()
    folder = model_folder(ModelConfig(), gguf)  # the GGUF's own conversion, cached once
    assert folder == converted_dir(gguf) and (folder / "model.safetensors").is_file()
    lm = load_peft_model(ModelConfig(hf_dir=str(folder)), gguf, LoraShape.of(TrainConfig(rank=4, alpha=8)))
    assert lm.folder == folder
    assert sum(p.numel() for p in lm.model.parameters() if p.requires_grad) > 0


@pytest.mark.slow
def test_unknown_target_modules_are_named():
    with pytest.raises(ModelLoadError, match="not_a_layer"):
        shape = LoraShape.of(TrainConfig(target_modules=("q_proj", "not_a_layer")))
        load_peft_model(ModelConfig(), default_gguf_path(), shape)
