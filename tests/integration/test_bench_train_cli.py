"""`loralens bench train` end to end: the real CLI on a tiny random Llama, and on SmolLM2 (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli, run_cli_json

pytestmark = pytest.mark.integration

TINY = ["--batch", "2", "--length", "16", "--repeats", "1", "--warmup", "0"]


def test_tiny_llama_json(tiny_llama_dir: Path) -> None:
    result = run_cli_json("bench", "train", "--model", str(tiny_llama_dir), *TINY)
    assert [r["method"] for r in result["rows"]] == ["full", "lora"]
    assert result["limit_flops_per_s"] == max(g["flops_per_s"] for g in result["gemm"])
    for row in result["rows"]:
        assert row["counted_flops"] == pytest.approx(row["flops"]["total"], rel=1e-3)
        assert row["step_s"] > 0 and row["fraction_of_limit"] > 0


@pytest.mark.slow
def test_packaged_smollm2_table() -> None:
    proc = run_cli("bench", "train", *TINY, "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    assert "Training-step benchmark: smollm2-135m, batch 2 × 16 tokens" in proc.stdout
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("full ", "lora "))]
    assert len(rows) == 2 and all("100.0%" in row for row in rows)  # counted = analytic
    assert "[bench train] full: 0 warm-up + 1 timed steps of 2 × 16" in proc.stderr
