"""Load rows, LoRA-over-merged overheads and greedy agreement, on made-up results."""

from __future__ import annotations

import pytest

from loralens.serving.correctness import agreement
from loralens.serving.measure import add_overheads
from loralens.serving.vllm.client import RequestResult
from loralens.serving.vllm.loadstats import LORA_ENGINE, MERGED_ENGINE, load_row, lora_overheads


def _result(e2e: float, n: int = 4, error: str | None = None) -> RequestResult:
    times = [e2e * (i + 1) / n for i in range(n)]
    return RequestResult(
        model="a", ttft_s=times[0], e2e_s=e2e, chunk_times_s=times, n_tokens=n, error=error
    )


def _row(engine: str, k: int, e2e: float, concurrency: int = 1) -> dict:
    results = [_result(e2e) for _ in range(4)]
    return load_row(
        engine,
        results,
        4 * e2e,
        k_adapters=k,
        arrival="closed",
        concurrency=concurrency,
        rate_per_s=None,
    )


def test_load_row_summaries():
    results = [_result(1.0), _result(2.0), _result(0.5, error="HTTP 404: no")]
    row = load_row(
        LORA_ENGINE, results, 2.0, k_adapters=2, arrival="closed", concurrency=2, rate_per_s=None
    )
    assert row["latency_ms"]["median"] == pytest.approx(1500.0)
    assert row["tokens_per_s"] == pytest.approx(8 / 2.0)  # failed requests count nothing
    assert row["requests_per_s"] == pytest.approx(1.0)
    assert row["errors"] == 1 and row["first_error"] == "HTTP 404: no"
    assert row["tpot_ms"]["median"] == pytest.approx((1500 - 375) / 3)
    assert row["itl_ms"]["n"] == 6 and row["batch_size"] == 2


def test_all_failed_requests_give_empty_summaries():
    row = load_row(
        LORA_ENGINE,
        [_result(1.0, error="x")],
        1.0,
        k_adapters=1,
        arrival="poisson",
        concurrency=None,
        rate_per_s=2.0,
    )
    assert row["latency_ms"] is None and row["tokens_per_s"] == 0.0


def test_overheads_against_the_merged_server_at_the_same_concurrency():
    rows = [_row(MERGED_ENGINE, 1, 1.0), _row(LORA_ENGINE, 2, 3.0), _row(LORA_ENGINE, 8, 2.0, 16)]
    (only,) = lora_overheads(rows)  # no merged row at concurrency 16
    assert only["k_adapters"] == 2 and only["latency_overhead"] == pytest.approx(2.0)
    assert only["throughput_ratio"] == pytest.approx(1 / 3)


def test_add_overheads_uses_the_rows_baseline_engine():
    inproc = {
        "engine": "merged",
        "workload": "generate",
        "batch_size": 1,
        "k_adapters": 1,
        "sampling": False,
        "latency_ms": {"median": 10.0},
    }
    rows = [inproc, _row(MERGED_ENGINE, 1, 1.0), _row(LORA_ENGINE, 2, 3.0)]
    add_overheads(rows)
    assert rows[0]["overhead_vs_merged"] == 0.0
    assert rows[2]["overhead_vs_merged"] == pytest.approx(2.0)  # vs vllm-merged, not merged


@pytest.mark.parametrize(
    ("got", "ref", "rate", "first"),
    [
        ([[1, 2], [3, 4]], [[1, 2], [3, 4]], 1.0, None),
        ([[1, 2], [3, 5]], [[1, 2], [3, 4]], 0.75, 1),
        ([[9, 2], [3]], [[1, 2], [3, 4]], 0.5, 0),
    ],
)
def test_agreement(got, ref, rate, first):
    out = agreement(got, ref)
    assert out["token_agreement"] == pytest.approx(rate) and out["first_divergence"] == first
    assert out["rows"] == 2
