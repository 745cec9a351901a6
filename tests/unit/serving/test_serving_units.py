"""Small pure parts of the serving benchmark: analytic FLOPs, statistics, plans, batches."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch
from transformers import LlamaConfig

from loralens.config import ServingConfig
from loralens.serving.adapters import AdapterSpec, base_shapes, check_adapter
from loralens.serving.analytic import extra_flops
from loralens.serving.errors import AdapterMismatchError
from loralens.serving.measure import add_overheads, memory_summary
from loralens.serving.timing import summarize
from loralens.serving.workloads import Setting, assign, forward_settings, generate_settings

SMOLLM2 = LlamaConfig(  # SmolLM2-135M's shapes (vocabulary shrunk: it does not enter the ratio)
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    vocab_size=256,
)


def _qv_adapter(rank: int, layers: int = 30, name: str = "a") -> AdapterSpec:
    shapes = {}
    for i in range(layers):
        for module, d_out in (("q_proj", 576), ("v_proj", 192)):
            prefix = f"base_model.model.model.layers.{i}.self_attn.{module}"
            shapes[f"{prefix}.lora_A.weight"] = (rank, 576)
            shapes[f"{prefix}.lora_B.weight"] = (d_out, rank)
    return AdapterSpec(name, Path("."), True, {"peft_type": "LORA"}, shapes)


def test_extra_flops_of_rank_8_on_q_v_is_0_43_percent():
    """Σ r(d_in+d_out) over q/v over Σ d_in·d_out of all linears: 15360 / 3538944 per layer."""
    base = base_shapes("smollm2-shapes", SMOLLM2, num_labels=2)
    out = extra_flops([_qv_adapter(8)], base)
    assert out["extra_flops_ratio"] == pytest.approx(15360 / 3538944)
    assert round(100 * out["extra_flops_ratio"], 2) == 0.43
    mixed = extra_flops([_qv_adapter(8, name="a"), _qv_adapter(4, name="b")], base)
    assert mixed["detail"]["fused_padded_ratio"] == pytest.approx(15360 / 3538944)
    assert mixed["extra_flops_ratio"] == pytest.approx(0.75 * 15360 / 3538944)


def test_check_adapter_catches_rank_disagreement_between_a_and_b():
    base = base_shapes("smollm2-shapes", SMOLLM2, num_labels=2)
    spec = _qv_adapter(8, layers=1)
    spec.shapes["base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight"] = (192, 4)
    with pytest.raises(AdapterMismatchError, match=r"v_proj.lora_B.weight has shape \(192, 4\)"):
        check_adapter(spec, base)


def test_summarize_percentiles_median_and_mad():
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["median"] == s["p50"] == 3.0
    assert s["mad"] == 1.0  # |x - 3| = 2, 1, 0, 1, 97
    assert s["p99"] > s["p95"] > s["p50"] and s["n"] == 5


def test_assign_round_robin_and_random_keep_the_same_rows_per_adapter():
    names = [f"a{i}" for i in range(8)]
    rr = assign(Setting("forward", 16, 8, "round_robin", None), names, seed=0)
    rnd = assign(Setting("forward", 16, 8, "random", None), names, seed=0)
    assert rr[:9] == [*names, "a0"]
    assert Counter(rr) == Counter(rnd) == Counter({n: 2 for n in names})
    assert rnd != rr
    assert rnd == assign(Setting("forward", 16, 8, "random", None), names, seed=0)
    assert set(assign(Setting("forward", 4, 1, "single", None), names, 0)) == {"a0"}


def test_settings_cover_batch_sizes_k_orders_and_sampling():
    serving = ServingConfig()
    fwd = forward_settings(serving)
    assert [s.batch_size for s in fwd if s.order == "single"] == [1, 2, 4, 8, 16]
    assert {(s.k_adapters, s.order) for s in fwd if s.k_adapters > 1} == {
        (k, o) for k in (2, 4, 8) for o in ("round_robin", "random")
    }
    gen = generate_settings(serving)
    assert len(gen) == 2 * (1 + 3 * 2) and {s.batch_size for s in gen} == {8}


def test_memory_break_even_and_overheads():
    mem = memory_summary(500.0, {"merged": 2500.0, "unmerged": 504.0}, 4, 513.0, 1.0, "rss")
    assert mem["per_adapter_mb"] == {"merged": 500.0, "unmerged": 1.0}
    assert mem["break_even_adapters"] == 2  # 2 copies (1000) > 500 + 2·1
    rows = [
        {
            "engine": e,
            "workload": "forward",
            "batch_size": 4,
            "sampling": None,
            "k_adapters": k,
            "latency_ms": {"median": m},
        }
        for e, k, m in (("merged", 1, 10.0), ("fused", 1, 10.5), ("fused", 4, 11.0))
    ]
    add_overheads(rows)
    assert [r["overhead_vs_merged"] for r in rows] == pytest.approx([0.0, 0.05, 0.1])


def test_make_batch_pads_on_the_requested_side(tiny_llama_dir):
    from loralens.models.load import load_tokenizer
    from loralens.serving.workloads import make_batch

    tok = load_tokenizer(str(tiny_llama_dir))
    left = make_batch(tok, [3, 5], "left", seed=0)
    right = make_batch(tok, [3, 5], "right", seed=0)
    assert left.attention_mask.tolist()[0] == [0, 0, 1, 1, 1]
    assert right.attention_mask.tolist()[0] == [1, 1, 1, 0, 0]
    assert torch.equal(left.input_ids[0, 2:], right.input_ids[0, :3])
    assert not set(left.input_ids[left.attention_mask.bool()].tolist()) & set(tok.all_special_ids)


def test_generation_always_times_the_single_adapter_baseline():
    serving = ServingConfig(num_adapters=[2, 8], orders=["round_robin"], sampling=[False])
    gen = generate_settings(serving)
    assert [(s.k_adapters, s.order) for s in gen] == [
        (1, "single"),
        (2, "round_robin"),
        (8, "round_robin"),
    ]
