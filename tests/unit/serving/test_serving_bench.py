"""run_serve_bench end to end on the tiny Llama: the gate refuses wrong engines; the schema."""

from __future__ import annotations

import json
import math
import statistics

import pytest

from loralens.config import ServingConfig
from loralens.serving import format_serve_table, registry
from loralens.serving.engines import PeftMixedEngine
from loralens.serving.interface import Generation
from tests.unit.serving._bench import run_serve_bench

TINY = ServingConfig(
    batch_sizes=[1, 2],
    num_adapters=[1, 2],
    generation_batch_size=2,
    prompt_length=6,
    output_length=2,
    warmup=0,
    warmup_max=4,
    repeats=2,
    orders=["round_robin"],
    sampling=[False],
    threads=1,
    device="cpu",
)


class NudgedEngine:
    """PEFT mixed batches with every logit moved by 0.01 and tokens shifted: must be refused."""

    name = "nudged"

    def __init__(self, options):
        self.inner = PeftMixedEngine(options)
        self.capabilities = self.inner.capabilities

    def load(self, base, adapters):
        self.inner.load(base, adapters)

    def forward(self, batch, adapter_per_row):
        return self.inner.forward(batch, adapter_per_row) + 1e-2

    def generate(self, batch, adapter_per_row, max_new_tokens, sampling):
        g = self.inner.generate(batch, adapter_per_row, max_new_tokens, sampling)
        return Generation(g.tokens + 1, g.ttft_s, g.e2e_s)

    def close(self):
        self.inner.close()


class CrashingEngine(NudgedEngine):
    """An engine whose forward raises."""

    def forward(self, batch, adapter_per_row):
        raise RuntimeError("boom")


@pytest.fixture(scope="module")
def result(tiny_llama_dir, tiny_adapters):
    """One tiny benchmark: a trained-like adapter plus one synthetic; two broken engines."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(registry.ENGINES, "nudged", NudgedEngine)
        mp.setitem(registry.ENGINES, "crashing", CrashingEngine)
        engines = ["merged", "fused", "nudged", "crashing"]
        return run_serve_bench(str(tiny_llama_dir), [tiny_adapters[0].path], TINY, engines)


def test_gate_refuses_engines_that_disagree(result):
    assert set(result["refused"]) == {"nudged", "crashing"}
    assert "max |Δlogit| 0.01" in result["refused"]["nudged"]
    assert "boom" in result["refused"]["crashing"]
    nudged = [c for c in result["correctness"] if c["engine"] == "nudged"]
    assert nudged and not any(c["passed"] for c in nudged)
    assert all(c["max_abs_logit_diff"] == pytest.approx(1e-2, rel=1e-3) for c in nudged)
    assert {r["engine"] for r in result["rows"]} == {"merged", "fused"}


def test_correct_engines_pass_every_case(result):
    good = [c for c in result["correctness"] if c["engine"] in ("merged", "fused")]
    # 2 adapters + base + mixed, in both workloads
    assert len(good) == 16 and all(c["passed"] for c in good)
    assert all(c["greedy_equal"] for c in good if c["workload"] == "generate")


def test_result_schema(result):
    assert set(result) >= {
        "settings",
        "correctness",
        "rows",
        "memory",
        "switching",
        "cold_start_s",
        "analytic",
    }
    s = result["settings"]
    assert s["threads"] == 1 and s["repeats"] == 2 and s["k_adapters"] == [1, 2]
    assert [a["synthetic"] for a in result["adapters"]] == [True, True]
    row_keys = {
        "engine",
        "workload",
        "batch_size",
        "k_adapters",
        "order",
        "sampling",
        "latency_ms",
        "ttft_ms",
        "tpot_ms",
        "tokens_per_s",
        "overhead_vs_merged",
    }
    merged_single = [r for r in result["rows"] if r["engine"] == "merged" and r["k_adapters"] == 1]
    for row in result["rows"]:
        assert set(row) >= row_keys
        assert row["warmup"]["calls"] >= s["warmup_window"]
        if row["workload"] == "generate":
            assert row["latency_ms"]["n"] == 4  # 2 rounds x 2 requests
        elif row in merged_single:  # the baseline: before the first pair, then after each
            assert row["latency_ms"]["n"] == 2 * 2  # 2 rounds x (1 + fused's pair)
        else:
            assert row["latency_ms"]["n"] == 2
    gen = [r for r in result["rows"] if r["workload"] == "generate"]
    assert {(r["k_adapters"], r["order"]) for r in gen} == {(1, "single"), (2, "round_robin")}
    assert all(r["ttft_ms"] and r["tpot_ms"] for r in gen)
    assert all(r["overhead_vs_merged"] == 0 for r in merged_single)
    # Every other forward row carries its baseline per pair (A-B-A, one pair per round), and
    # its overhead is the Hodges-Lehmann median of the per-pair ratios, - 1.
    forward = [r for r in result["rows"] if r["workload"] == "forward" and r not in merged_single]
    assert forward and all(len(r["paired_baseline_ms"]) == len(r["samples_ms"]) for r in forward)
    for r in forward:
        logs = [
            math.log(a / b) for a, b in zip(r["samples_ms"], r["paired_baseline_ms"], strict=True)
        ]
        walsh = [(x + y) / 2 for i, x in enumerate(logs) for y in logs[i:]]
        assert r["overhead_vs_merged"] == pytest.approx(math.exp(statistics.median(walsh)) - 1)
        assert r["paired_ratio"]["pairs"] == 2 and r["paired_ratio"]["ci_high"] is None
    (floor,) = result["noise_floor"]  # the mixed batch size: K = 1 and K = 2 share a baseline
    assert set(floor["baseline_median_ms"]) == {"K = 1, single", "K = 2, round_robin"}
    mem = result["memory"]
    assert set(mem["per_adapter_mb"]) >= {"merged", "fused"}  # loaded, even if refused later
    assert mem["break_even_adapters"] is None or mem["break_even_adapters"] >= 1
    assert set(result["cold_start_s"]) >= {"merged", "fused"}
    assert result["switching"]["set_adapter_ms"]["median"] > 0
    assert 0 < result["analytic"]["extra_flops_ratio"] < 1
    json.dumps(result)  # JSON-able as is


def test_table_mentions_every_part(result):
    text = format_serve_table(result)
    for part in (
        "correctness",
        "FAILED (not timed)",
        "timings",
        "memory",
        "switching",
        "cold start",
        "analytic",
        "refused to time nudged",
        "synthetic",
    ):
        assert part in text, part


def test_reference_is_dropped_before_the_engines_load(tiny_llama_dir, tiny_adapters):
    """The gate's reference outputs are computed first and its model closed before any timed
    engine loads (the peak holds the timed engines only); the gate still compares with them."""
    from loralens.serving.engines import UnmergedEngine

    models_alive_at_load: list[int] = []
    live: set[int] = set()

    class Watched(UnmergedEngine):
        def load(self, base, adapters):
            models_alive_at_load.append(len(live))
            live.add(id(self))
            super().load(base, adapters)

        def close(self):
            live.discard(id(self))
            super().close()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("loralens.serving.runner.UnmergedEngine", Watched)
        mp.setitem(registry.ENGINES, "unmerged", Watched)
        out = run_serve_bench(str(tiny_llama_dir), [tiny_adapters[0].path], TINY, ["unmerged"])
    # classify and generate: the reference, then the timed engine, each the only model loaded
    assert models_alive_at_load == [0, 0, 0, 0]
    assert not live
    assert {c["engine"] for c in out["correctness"]} == {"unmerged"}
    assert all(c["passed"] for c in out["correctness"])
    assert out["switching"]["set_adapter_ms"]["median"] > 0


def test_memory_measures_a_merged_copy_as_a_whole_model(result):
    """Planted: a merged copy holds every weight again, an unmerged adapter almost nothing; the
    measured increments (RSS) show both, against the parameters' bytes counted from the config."""
    mem = result["memory"]
    whole = mem["base_params_mb"]
    assert mem["base_mb"] == pytest.approx(whole, rel=0.1)
    assert mem["per_adapter_mb"]["merged"] == pytest.approx(whole, rel=0.1)
    assert all(abs(mem["per_adapter_mb"][e]) < 0.1 * whole for e in ("fused", "nudged"))
