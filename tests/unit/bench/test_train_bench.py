"""`loralens bench train`: the GEMM limit, argument checks, the table, and a run on a tiny Llama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from loralens.bench.train import check_args, format_train_bench, gemm_limit, run_train_bench
from loralens.cli import main
from loralens.errors import ConfigError


def test_gemm_limit_reports_flops_per_thread_count() -> None:
    rows = gemm_limit(sizes=(64, 128), repeats=2, warmup=1)
    assert [r["n"] for r in rows] == [64, 128]
    for r in rows:
        assert r["threads"] == torch.get_num_threads()
        assert r["flops_per_s"] == pytest.approx(2 * r["n"] ** 3 / r["seconds"])


@pytest.mark.parametrize(
    ("batch", "length", "repeats", "warmup", "threads", "flag"),
    [
        (0, 64, 5, 1, None, "--batch"),
        (-3, 64, 5, 1, None, "--batch"),
        (16, 1, 5, 1, None, "--length"),
        (16, 64, 0, 1, None, "--repeats"),
        (16, 64, 5, -1, None, "--warmup"),
        (16, 64, 5, 1, 0, "--threads"),
    ],
)
def test_bad_settings_name_the_flag_and_its_range(
    batch: int, length: int, repeats: int, warmup: int, threads: int | None, flag: str
) -> None:
    with pytest.raises(ConfigError, match=f"{flag} must be an integer ≥"):
        check_args(batch, length, repeats, warmup, threads)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch", "0"], "--batch must be an integer ≥ 1, got 0"),
        (["--model", "smollm3-135m"], "unknown model 'smollm3-135m'; did you mean 'smollm2-135m'?"),
        (["--model", "minilm-l6"], "'minilm-l6' is of type encoder (allowed: smollm2-135m"),
    ],
)
def test_cli_bad_input_is_one_error_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "train", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("loralens: error: ") and message in err[0]


def test_tiny_llama_run_counts_agree_and_renders(tiny_llama_dir: Path) -> None:
    threads = torch.get_num_threads()
    result = run_train_bench(
        str(tiny_llama_dir), batch=2, length=16, repeats=1, warmup=0, threads=1, gemm_sizes=(128,)
    )
    assert result["config"]["torch_threads"] == 1 and torch.get_num_threads() == threads
    json.dumps(result)  # JSON-able for --json
    full, lora = result["rows"]
    assert (full["method"], lora["method"]) == ("full", "lora")
    assert lora["lora"] == {"rank": 8, "targets": ["q_proj", "v_proj"]}
    assert lora["trainable"] < full["trainable"]
    for row in (full, lora):  # the analytic count is what torch counts on loralens' own model
        assert row["counted_flops"] == pytest.approx(row["flops"]["total"], rel=1e-3)
        assert row["fraction_of_limit"] == pytest.approx(
            row["flops_per_s"] / result["limit_flops_per_s"]
        )
        assert 0 < row["real_tokens"] <= 2 * 16
    assert full["flops"]["backward_over_forward"] == pytest.approx(2.0)
    assert lora["flops"]["backward_over_forward"] < 1.2
    table = format_train_bench(result)
    assert "GEMM limit (float32 torch.mm, n×n, GFLOP/s): before n=128" in table
    assert "after n=128" in table and "of limit" in table
    assert [g["when"] for g in result["gemm"]] == ["before", "after"]
    assert table.count("100.0%") == 2  # counted / analytic, both methods
    assert sum(full["phase_s"].values()) == pytest.approx(full["step_s"], rel=0.5)


def test_the_step_uses_the_optimizer_the_trainer_builds(tiny_llama_dir: Path, tmp_path) -> None:
    from transformers import Trainer

    from loralens.bench.train import load_for_bench, trainer_optimizer
    from loralens.training.setup import training_arguments

    model, _, cfg = load_for_bench(str(tiny_llama_dir), "lora")
    args = training_arguments(cfg, tmp_path, "cpu", "accuracy")
    built = Trainer(model=model, args=args, eval_dataset=[{}]).create_optimizer()
    ours = trainer_optimizer(cfg, model)
    assert type(ours) is type(built)
    assert ours.defaults == built.defaults and ours.defaults["lr"] == cfg.training.learning_rate
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert {id(p) for g in ours.param_groups for p in g["params"]} == trainable
