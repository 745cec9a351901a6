"""The vllm engine: folders it writes, its settings, and the benchmark run against a fake server."""

from __future__ import annotations

import json

import pytest
import torch

from loralens.config import ServingConfig, VllmConfig
from loralens.serving import format_serve_table
from loralens.serving.adapters import CONFIG_FILE, WEIGHTS_FILE
from loralens.serving.base import Batch
from loralens.serving.interface import EngineOptions
from loralens.serving.vllm import engine as vllm_engine
from loralens.serving.vllm.errors import VllmError
from loralens.serving.vllm.folders import causal_lm_config, lora_tensors, write_vllm_adapter
from tests.unit.serving._bench import run_serve_bench

from .conftest import fake_processes


@pytest.mark.parametrize(
    ("ranks", "asked", "expected"),
    [([2, 4, 8], None, 8), ([9], None, 16), ([64], None, 64), ([4], 32, 32)],
)
def test_lora_rank_setting(ranks, asked, expected):
    assert vllm_engine.lora_rank_setting(ranks, asked) == expected


def test_lora_rank_setting_refuses_too_small_or_too_large():
    with pytest.raises(VllmError, match="below the adapters' rank 16"):
        vllm_engine.lora_rank_setting([16], 8)
    with pytest.raises(VllmError, match="exceeds"):
        vllm_engine.lora_rank_setting([1024], None)


def test_row_prompts_drop_left_padding():
    batch = Batch(torch.tensor([[0, 0, 5, 6], [7, 8, 9, 1]]), torch.tensor([[0, 0, 1, 1], [1] * 4]))
    assert vllm_engine.row_prompts(batch) == [[5, 6], [7, 8, 9, 1]]


def test_causal_lm_adapter_keeps_only_lora_tensors(tiny_adapters, tmp_path):
    spec = tiny_adapters[0]
    out = write_vllm_adapter(spec, tmp_path / "a", "/base")
    config = json.loads((out / CONFIG_FILE).read_text())
    assert config["task_type"] == "CAUSAL_LM" and config["modules_to_save"] is None
    assert config["base_model_name_or_path"] == "/base" and config["r"] == spec.config["r"]
    from safetensors import safe_open

    with safe_open(str(out / WEIGHTS_FILE), "pt") as f:
        keys = set(f.keys())
    assert keys and all(k.endswith((".lora_A.weight", ".lora_B.weight")) for k in keys)
    assert len(keys) == sum(1 for k in spec.shapes if k.endswith(("A.weight", "B.weight")))


def test_pure_helpers():
    assert causal_lm_config({"r": 4, "modules_to_save": ["score"]}, "/b")["modules_to_save"] is None
    assert lora_tensors({"x.lora_A.weight": 1, "score.weight": 2}) == {"x.lora_A.weight": 1}


TINY = ServingConfig(
    engines=["merged"],
    batch_sizes=[1],
    num_adapters=[1, 2],
    generation_batch_size=2,
    prompt_length=6,
    output_length=3,
    warmup=0,
    repeats=1,
    orders=["round_robin"],
    sampling=[False],
    threads=1,
    device="cpu",
    vllm=VllmConfig(
        concurrency=[1, 2], requests=3, poisson_rates=[20.0], poisson_requests=3, warmup_requests=1
    ),
)


@pytest.fixture
def fake_env(fake_python, monkeypatch):
    """The vllm engine uses the fake server's `python` as its environment."""
    monkeypatch.setattr(vllm_engine, "cached_env", lambda: fake_python.parent.parent)
    monkeypatch.setattr(vllm_engine, "build_seconds", lambda folder: 0.0)


def test_bench_with_a_fake_vllm_server(fake_env, tiny_llama_dir, tiny_adapters):
    result = run_serve_bench(str(tiny_llama_dir), [tiny_adapters[0].path], TINY, ["merged", "vllm"])
    assert result["failed"] == {} and "vllm" not in result["refused"]
    vllm_cases = [e for e in result["correctness"] if e["engine"] == "vllm"]
    assert vllm_cases and all(e["passed"] and e["token_agreement"] is not None for e in vllm_cases)
    engines = {(r["engine"], r["k_adapters"], r.get("arrival")) for r in result["rows"]}
    assert {("vllm", 1, None), ("vllm-merged", 1, "closed"), ("vllm", 2, "closed")} <= engines
    assert ("vllm", 0, "poisson") in engines and ("merged", 1, None) in engines
    block = result["vllm"]
    assert {(o["concurrency"], o["k_adapters"]) for o in block["overheads"]} >= {(1, 2), (2, 1)}
    assert block["settings"]["lora"]["max_loras"] == 2 and block["settings"]["merged"]["startup_s"]
    assert block["merged_vs_lora_greedy"]["rows"] == 8
    assert "vLLM: base + K unmerged adapters" in format_serve_table(result)
    assert fake_processes() == []


def test_server_that_fails_to_start_keeps_the_other_results(
    fake_env, tiny_llama_dir, tiny_adapters
):
    serving = TINY.model_copy(deep=True)
    serving.vllm.env = {"VLLM_FAKE_MODE": "exit"}
    result = run_serve_bench(
        str(tiny_llama_dir), [tiny_adapters[0].path], serving, ["merged", "vllm"]
    )
    why = result["failed"]["vllm"]
    assert "failed to start" in why and "cannot open shared object file" in why
    assert any(r["engine"] == "merged" for r in result["rows"])
    assert not any(r["engine"].startswith("vllm") for r in result["rows"])
    assert "ENGINE FAILED: vllm" in format_serve_table(result)
    assert fake_processes() == []


def test_missing_env_without_build_is_a_clear_failure(
    tiny_llama_dir, tiny_adapters, tmp_path, monkeypatch
):
    monkeypatch.setenv("LORALENS_CACHE", str(tmp_path))
    serving = TINY.model_copy(deep=True)
    serving.vllm.build_env = False
    result = run_serve_bench(
        str(tiny_llama_dir), [tiny_adapters[0].path], serving, ["merged", "vllm"]
    )
    assert "vllm.build_env is false" in result["failed"]["vllm"]
    assert any(r["engine"] == "merged" for r in result["rows"])


def test_server_settings_come_from_the_config():
    config = VllmConfig(env={"VLLM_CPU_NUM_OF_RESERVED_CPU": 0}, dtype="bfloat16", max_loras=3,
                        omp_threads_bind="0-1", kvcache_space_gib=2)  # fmt: skip
    options = EngineOptions(device=torch.device("cpu"), serving=ServingConfig(vllm=config))
    engine = vllm_engine.VllmEngine(options)
    assert not engine.capabilities.supports_forward and not engine.capabilities.in_process
    s = engine._settings("/m", "base", {"a": "/a"})
    assert s.extra_env == {"VLLM_CPU_NUM_OF_RESERVED_CPU": "0"} and s.dtype == "bfloat16"
    assert s.max_loras == 3 and s.omp_threads_bind == "0-1" and s.kvcache_space_gib == 2
