"""Bad input fails before anything is timed, with a message naming the problem."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from peft import LoraConfig
from safetensors.torch import load_file, save_file
from transformers import LlamaForSequenceClassification

from loralens.config import ServingConfig
from loralens.errors import LoralensError
from loralens.serving.errors import (
    AdapterMismatchError,
    AdapterNotFoundError,
    AdapterRankError,
    UnknownEngineError,
    UnsupportedAdapterError,
)
from loralens.serving.peft_io import new_peft_model
from tests.unit.serving._bench import run_serve_bench

ONE = ServingConfig(num_adapters=[1], batch_sizes=[1], repeats=1, warmup=0)


def _bench(model_dir, dirs, engines, serving=ONE):
    messages: list[str] = []
    with pytest.raises(LoralensError) as info:
        run_serve_bench(str(model_dir), dirs, serving, engines, progress=messages.append)
    assert not any("loading" in m for m in messages), "failed after loading engines"
    return info


def _copy(spec, tmp_path, name="copy"):
    return shutil.copytree(spec.path, tmp_path / name)


def test_unknown_engine_suggests_the_closest(tiny_llama_dir, tiny_adapters):
    info = _bench(tiny_llama_dir, [tiny_adapters[0].path], ["fusd"])
    assert info.type is UnknownEngineError
    assert "did you mean 'fused'" in str(info.value)


def test_a_config_naming_an_unknown_engine_is_refused_when_read() -> None:
    from loralens.config import load_config
    from loralens.config_sections import SERVING_ENGINES
    from loralens.errors import ConfigError
    from loralens.serving.registry import ENGINES

    assert tuple(ENGINES) == SERVING_ENGINES  # the config knows every registered engine
    with pytest.raises(ConfigError, match="unknown engine 'fusd'; did you mean 'fused'"):
        load_config(None, ["serving.engines=[merged, fusd]"])
    assert load_config(None, ["serving.engines=[]"]).serving.engines == []  # no serving


def test_missing_adapter_directory(tiny_llama_dir, tmp_path):
    info = _bench(tiny_llama_dir, [tmp_path / "nowhere"], ["fused"])
    assert info.type is AdapterNotFoundError
    assert "not found" in str(info.value) and "nowhere" in str(info.value)


def test_folder_without_an_adapter(tiny_llama_dir, tmp_path):
    info = _bench(tiny_llama_dir, [tmp_path], ["fused"])
    assert info.type is AdapterNotFoundError
    assert "adapter_config.json" in str(info.value)


def test_tensor_shape_mismatch_names_the_tensor(tiny_llama_dir, tiny_adapters, tmp_path):
    folder = _copy(tiny_adapters[0], tmp_path)
    weights = load_file(folder / "adapter_model.safetensors")
    key = next(k for k in weights if "layers.1.self_attn.v_proj.lora_B" in k)
    weights[key] = torch.zeros(weights[key].shape[0] + 1, weights[key].shape[1])
    save_file(weights, folder / "adapter_model.safetensors")
    info = _bench(tiny_llama_dir, [folder], ["fused"])
    assert info.type is AdapterMismatchError
    assert key in str(info.value) and "(33, 2)" in str(info.value)


def test_adapter_of_another_base_model(tiny_llama_dir, tiny_adapters, tmp_path):
    """An adapter recording a local base folder with another architecture is refused."""
    other = tmp_path / "other-base"
    other.mkdir()
    config = json.loads((tiny_llama_dir / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "hidden_size": 32}))
    folder = _copy(tiny_adapters[0], tmp_path)
    cfg = json.loads((folder / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = str(other)
    (folder / "adapter_config.json").write_text(json.dumps(cfg))
    info = _bench(tiny_llama_dir, [folder], ["merged"])
    assert info.type is AdapterMismatchError
    assert "hidden_size 32 vs 64" in str(info.value)


def test_rank_above_the_engines_maximum(tiny_llama_dir, tiny_adapters):
    rank8 = next(a for a in tiny_adapters if a.max_rank == 8)
    serving = ONE.model_copy(update={"max_rank": 4})
    info = _bench(tiny_llama_dir, [rank8.path], ["merged", "fused"], serving)
    assert info.type is AdapterRankError
    assert "rank 8" in str(info.value) and "'fused'" in str(info.value)


def test_non_lora_adapter(tiny_llama_dir, tiny_adapters, tmp_path):
    folder = _copy(tiny_adapters[0], tmp_path)
    cfg = json.loads((folder / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**cfg, "peft_type": "IA3"}))
    info = _bench(tiny_llama_dir, [folder], ["merged"])
    assert info.type is UnsupportedAdapterError


def test_dora_adapter_is_refused_by_engines_without_dora(tiny_llama_dir, tmp_path):
    model = LlamaForSequenceClassification.from_pretrained(tiny_llama_dir, num_labels=2)
    config = LoraConfig(r=2, target_modules=["q_proj"], use_dora=True, task_type="SEQ_CLS")
    new_peft_model(model, config, "dora").save_pretrained(tmp_path)
    info = _bench(tiny_llama_dir, [tmp_path / "dora"], ["merged", "peft-mixed"])
    assert info.type is UnsupportedAdapterError
    assert "DoRA" in str(info.value) and "'peft-mixed'" in str(info.value)


def test_bad_serving_settings_are_config_errors():
    with pytest.raises(ValueError, match="positive"):
        ServingConfig(batch_sizes=[4, 0])
    with pytest.raises(ValueError):
        ServingConfig(orders=["zigzag"])
