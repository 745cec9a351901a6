"""Smoke test of the CKA benchmark on tiny sizes (structure, accuracy, table), peers off."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from loralens.bench.cka import (
    format_cka_bench,
    kornblith_numpy_cka,
    llm_like_activations,
    reference_cka,
    run_cka_bench,
)


def test_tiny_bench_runs_and_renders() -> None:
    threads = torch.get_num_threads()
    result = run_cka_bench(n=40, dims=(8, 60), layers=2, repeats=1, peers=False, threads=1)
    assert result["config"]["torch_threads"] == 1 and torch.get_num_threads() == threads
    json.dumps(result)  # JSON-able for `loralens bench cka --json`
    rows = result["rows"]
    assert {(r["section"], r["form"]) for r in rows if r["name"].startswith("loralens")} == {
        ("pair", "feature"),
        ("pair", "gram"),
        ("drift", "feature"),
        ("drift", "gram"),
    }
    for row in rows:
        assert row["ms"] >= 0.0
        if row["name"].startswith("loralens"):
            assert row["max_abs_diff"] < 1e-6  # float32 products, float64 sums
            assert row["x_gemm64"] > 0.0 and row["x_gemm32"] > 0.0
    table = format_cka_bench(result)
    assert "loralens cka_drift debiased × 2" in table and "max|Δ| vs f64" in table
    assert "peers: not requested" in table


def test_activations_are_llm_like_and_baselines_agree_in_float64() -> None:
    x = llm_like_activations(64, 32, torch.Generator().manual_seed(0))
    assert x.dtype == torch.float32 and float(x.mean()) > 50.0
    assert float(x.abs().amax(0).max()) > 20 * float(x.abs().amax(0).median())  # outliers
    y = x + torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    x64, y64 = x.double().numpy(), y.double().numpy()
    assert kornblith_numpy_cka(x64, y64) == pytest.approx(reference_cka(x, y, False), abs=1e-9)
    assert np.isfinite(reference_cka(x, y, True))
