"""Method variants via the real CLI on a tiny Llama: rank patterns, AdaLoRA, QLoRA, bad input."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification

from loralens.config import load_config
from loralens.data.run_task import load_run_task
from loralens.evaluation import encode, predict_logits
from loralens.models.load import load_tokenizer
from tests.conftest import REPO, run_cli, run_cli_json

pytestmark = pytest.mark.integration

TINY = [
    "task.max_train=96",
    "task.max_val=32",
    "task.max_test=48",
    "training.batch_size=8",
    "training.eval_steps=3",
    "probing.snapshot_every=0",
    "probing.max_examples=16",
]
ADALORA = [
    "method=adalora",
    "adalora.init_r=8",
    "adalora.target_r=4",
    "adalora.tinit=2",
    "adalora.tfinal=2",
]
FULL_FP32 = "study.variants.full-ft.model.quantization=none"
PATTERN = [
    "lora.targets=all-linear",
    "lora.rank=4",
    "lora.rank_pattern={self_attn.*: 6, mlp.*: 10}",
]
# d_out x d_in of the tiny Llama's linear layers (hidden 64, 2 KV heads of 16, MLP 128)
SHAPES = {
    "q_proj": [64, 64],
    "k_proj": [32, 64],
    "v_proj": [32, 64],
    "o_proj": [64, 64],
    "gate_proj": [128, 64],
    "up_proj": [128, 64],
    "down_proj": [64, 128],
}


def _args(tiny: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "quickstart", f"model.name={tiny}", *TINY, *extra, "--out", str(out)]


def _train(tiny: Path, out: Path, *extra: str) -> Path:
    proc = run_cli(*_args(tiny, out, *extra))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def runs(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("variants")
    variants = {
        "qkvo16": ["lora.targets=qkvo", "lora.rank=16"],
        "pattern": PATTERN,
        "adalora": ADALORA,
        "dora": ["method=dora", "lora.rank=4"],
    }
    return {name: _train(tiny_llama_dir, root / name, *extra) for name, extra in variants.items()}


@pytest.fixture(scope="module")
def sparsity(runs: dict[str, Path]) -> dict[str, dict]:
    results = run_cli_json("sparsity", *(str(p) for p in runs.values()))
    return {
        name: {r["module"]: r for r in res["rows"]} for name, res in zip(runs, results, strict=True)
    }


def _kind(module: str) -> str:
    return module.rsplit(".", 1)[1]


def test_qkvo_rank16_reports_rank_and_shape_per_module(sparsity) -> None:
    rows = sparsity["qkvo16"]
    assert sorted({_kind(m) for m in rows}) == ["k_proj", "o_proj", "q_proj", "v_proj"]
    assert len(rows) == 8
    for module, row in rows.items():
        assert row["lora_rank"] == 16 and row["shape"] == SHAPES[_kind(module)]
        assert 0 < row["numerical_rank"] <= 16


def test_rank_pattern_reports_its_ranks_per_module(sparsity) -> None:
    rows = sparsity["pattern"]
    assert len(rows) == 14  # 7 linear layers x 2 blocks
    for module, row in rows.items():
        assert row["lora_rank"] == (6 if ".self_attn." in module else 10), module
        assert row["shape"] == SHAPES[_kind(module)]
        assert 0 < row["numerical_rank"] <= row["lora_rank"]


def test_adalora_budget_shrinks_and_sparsity_sees_the_kept_ranks(runs, sparsity) -> None:
    run = runs["adalora"]
    ranks = json.loads((run / "adalora_rank_pattern.json").read_text())
    assert len(ranks) == 4 and all(0 <= r <= 8 for r in ranks.values())
    assert sum(ranks.values()) < 8 * len(ranks)  # init_r x modules
    acfg = json.loads((run / "adapter" / "adapter_config.json").read_text())
    assert acfg["peft_type"] == "ADALORA" and acfg["total_step"] == 12
    rows = sparsity["adalora"]
    assert set(rows) == set(ranks)
    for module, row in rows.items():
        assert row["lora_rank"] == (ranks[module] or None)
        assert row["shape"] == SHAPES[_kind(module)]
        assert row["numerical_rank"] <= ranks[module]


def test_dora_is_one_registration_that_trains_serves_and_reaches_sparsity(
    runs, sparsity, tiny_llama_dir
) -> None:
    run = runs["dora"]
    acfg = json.loads((run / "adapter" / "adapter_config.json").read_text())
    assert acfg["peft_type"] == "LORA" and acfg["use_dora"] is True and acfg["r"] == 4
    # Sparsity of DoRA: ΔW = merged - base (magnitude rescaling included), checked against PEFT.
    base = AutoModelForSequenceClassification.from_pretrained(tiny_llama_dir, num_labels=2)
    before = {k: v.detach().clone() for k, v in base.state_dict().items()}
    merged = PeftModel.from_pretrained(base, run / "adapter").merge_and_unload().state_dict()
    rows = sparsity["dora"]
    assert sorted({_kind(m) for m in rows}) == ["q_proj", "v_proj"] and len(rows) == 4
    for module, row in rows.items():
        delta = (merged[f"{module}.weight"] - before[f"{module}.weight"]).double()
        want = torch.linalg.svdvals(delta)[:3].tolist()
        assert row["singular_values"][:3] == pytest.approx(want, rel=1e-6), module
        assert row["lora_rank"] == 4 and max(want) > 0
    # Served by the engines that support DoRA (merged, unmerged); the others refuse it.
    from loralens.config import ServingConfig
    from loralens.serving import run_serve_bench

    serving = ServingConfig(num_adapters=[1], batch_sizes=[1], repeats=1, warmup=0)
    result = run_serve_bench(
        str(tiny_llama_dir), [run], serving, ["merged", "unmerged", "fused"], strict=False
    )
    assert set(result.refused) == {"fused"} and "DoRA" in result.refused["fused"]
    assert {r.engine for r in result.rows} == {"merged", "unmerged"}
    assert all(c.passed for c in result.correctness)


def test_saved_adalora_adapter_reproduces_test_predictions(runs, tiny_llama_dir) -> None:
    run = runs["adalora"]
    cfg = load_config(run / "config.yaml")
    data = load_run_task(cfg)
    base = AutoModelForSequenceClassification.from_pretrained(tiny_llama_dir, num_labels=2)
    model = PeftModel.from_pretrained(base, run / "adapter")
    tok = load_tokenizer(str(tiny_llama_dir))
    rows = encode(data.spec, tok, data.splits.test, cfg.model.max_length)
    saved = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    torch.testing.assert_close(
        predict_logits(model, rows, tok.pad_token_id), torch.tensor([s["logits"] for s in saved])
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("qlora", ["method=qlora"]),
        # The quickstart's full-ft variant cannot take a 4-bit base: it says so explicitly.
        ("adalora-nf4", [*ADALORA, "model.quantization=nf4", FULL_FP32]),
    ],
)
def test_a_4bit_base_trains_and_its_adapter_reproduces_predictions(
    tiny_llama_dir, tmp_path, name, extra
) -> None:
    pytest.importorskip("bitsandbytes")
    from loralens.training.quantized import load_qlora_base

    run = _train(tiny_llama_dir, tmp_path / name, *extra)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 12 and 0 < metrics["trainable_share"] < 0.01
    cfg = load_config(run / "config.yaml")
    assert cfg.quantized_base  # read back from the run, not from the request
    base, tok = load_qlora_base(str(tiny_llama_dir), 2, "cpu")
    model = PeftModel.from_pretrained(base, run / "adapter")
    data = load_run_task(cfg)
    rows = encode(data.spec, tok, data.splits.test, cfg.model.max_length)
    saved = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    torch.testing.assert_close(
        predict_logits(model, rows, tok.pad_token_id), torch.tensor([s["logits"] for s in saved])
    )
    (res,) = run_cli_json("sparsity", str(run))
    assert len(res["rows"]) == 4 and all(0 < r["lora_rank"] <= 8 for r in res["rows"])


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The single `loralens: error:` line of a failed command (no traceback)."""
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("loralens: error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["method=adalora", "adalora.init_r=8", "adalora.target_r=12"],
            "'adalora': got {'init_r': 8, 'target_r': 12",
        ),
        (["method=adalora", "adalora.init_r=8", "adalora.target_r=12"], "must not exceed init_r"),
        (["lora.rank=40"], "LoRA rank 40 for model.layers.0.self_attn.v_proj exceeds"),
        (["method=adalora", "adalora.init_r=40"], "adalora.init_r 40 for model.layers.0.self"),
        (
            ["lora.targets=all-linear", "lora.rank_pattern={mlp: 4}"],
            "rank_pattern key 'mlp' matches no targeted module",
        ),
        (
            ["method=adalora", "lora.rank_pattern={q_proj: 4}"],
            "lora.rank_pattern: not used by method adalora",
        ),
    ],
)
def test_bad_variant_settings_stop_before_training(tiny_llama_dir, tmp_path, extra, message):
    proc = run_cli(*_args(tiny_llama_dir, tmp_path / "bad", *extra))
    assert message in _one_line_error(proc)
    assert not (tmp_path / "bad" / "snapshots").exists()


def test_qlora_without_bitsandbytes_names_the_requirement(tiny_llama_dir, tmp_path) -> None:
    hide = "import sys; sys.modules['bitsandbytes'] = None; from loralens.cli import main; "
    cmd = [sys.executable, "-c", hide + "sys.exit(main())"]
    args = _args(tiny_llama_dir, tmp_path / "q", "method=qlora")
    proc = subprocess.run(cmd + args, capture_output=True, text=True, cwd=REPO, timeout=600)
    line = _one_line_error(proc)
    assert (
        "model.quantization nf4) needs bitsandbytes==0.50.2 (pip install 'loralens[qlora]')" in line
    )
    assert not (tmp_path / "q" / "snapshots").exists()


@pytest.mark.slow
def test_killed_adalora_run_restarts_to_the_same_result(runs, tiny_llama_dir, tmp_path) -> None:
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "loralens", *_args(tiny_llama_dir, out, *ADALORA)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (out / "checkpoints" / "checkpoint-6" / "trainer_state.json").exists():
        assert proc.poll() is None and time.time() < deadline, "run ended before checkpoint 6"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    again = run_cli(*_args(tiny_llama_dir, out, *ADALORA))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "adalora cannot resume" in again.stderr
    ref = runs["adalora"]
    for name in ("metrics.json", "adalora_rank_pattern.json"):
        a, b = (json.loads((d / name).read_text()) for d in (ref, out))
        keys = ("test", "selected_step") if name == "metrics.json" else a
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
