"""`loralens train` and `loralens sanity` end to end on a tiny random Llama."""

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
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification

from loralens.evaluation import encode, predict_logits
from loralens.models.load import load_tokenizer
from loralens.probing.capture import snapshot_index
from loralens.training.callbacks import checkpoint_problem
from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.integration

TINY = [
    "task.max_train=96",
    "task.max_val=32",
    "task.max_test=48",
    "training.batch_size=8",
    "training.eval_steps=3",
    "probing.snapshot_every=3",
    "probing.max_examples=16",
]


def _train(tiny: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli("train", "quickstart", f"model.name={tiny}", *TINY, *extra, "--out", str(out))


@pytest.fixture(scope="module")
def lora_run(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "lora"
    proc = _train(tiny_llama_dir, out, "method=lora")
    assert proc.returncode == 0, proc.stderr
    return out


def test_lora_run_writes_every_output(lora_run: Path) -> None:
    metrics = json.loads((lora_run / "metrics.json").read_text())
    assert set(metrics["test"]) == {"accuracy", "f1", "mcc"}
    assert 0 < metrics["trainable_share"] < 0.05
    assert metrics["train_tokens_per_s"] > 0 and metrics["peak_rss_mb"] > 0
    assert metrics["steps"] == 12  # 96 examples / batch 8, one epoch
    log = json.loads((lora_run / "log.json").read_text())
    assert [h["step"] for h in log["val"] if "eval_accuracy" in h] == [3, 6, 9, 12]
    assert (lora_run / "config.yaml").is_file() and json.loads((lora_run / "env.json").read_text())
    data = json.loads((lora_run / "data.json").read_text())
    assert data["sizes"] == {"train": 96, "val": 32, "test": 48}
    assert not (lora_run / "checkpoints").exists()


def test_snapshots_cover_start_every_n_and_end(lora_run: Path) -> None:
    index = snapshot_index(lora_run / "snapshots")
    assert [s["step"] for s in index] == [0, 3, 6, 9, 12]
    reps = load_file(str(lora_run / "snapshots" / "step_000012.safetensors"))
    poolings = ("mean_nosink", "mean", "last")
    layers = {f"{p}.layer_{i}" for p in poolings for i in range(3)}
    assert set(reps) == layers | {"lengths", "sinks"}  # + token counts, sinks left out
    assert reps["mean.layer_2"].shape == (16, 64)
    assert len({s["probe_sha256"] for s in index}) == 1


def test_saved_adapter_reproduces_test_predictions(lora_run: Path, tiny_llama_dir: Path) -> None:
    from loralens.config import load_config
    from loralens.data.run_task import load_run_task

    cfg = load_config(lora_run / "config.yaml")
    base = AutoModelForSequenceClassification.from_pretrained(tiny_llama_dir, num_labels=2)
    model = PeftModel.from_pretrained(base, lora_run / "adapter")
    tok = load_tokenizer(str(tiny_llama_dir))
    rows = encode(
        cfg_spec := load_run_task(cfg).spec,
        tok,
        load_run_task(cfg).splits.test,
        cfg.model.max_length,
    )
    logits = predict_logits(model, rows, tok.pad_token_id)
    saved = [json.loads(line) for line in (lora_run / "predictions.jsonl").read_text().splitlines()]
    assert cfg_spec.name == "rotten_tomatoes" and len(saved) == 48
    torch.testing.assert_close(logits, torch.tensor([s["logits"] for s in saved]))


def test_selected_snapshot_is_the_saved_models_representations(
    lora_run: Path, tiny_llama_dir: Path
) -> None:
    """selected.safetensors is copied from the snapshot at the selected step: the same bytes as
    capturing the saved (selected) adapter model on the probe set."""
    from loralens.config import load_config
    from loralens.data.run_task import load_run_task
    from loralens.probing.capture import capture
    from loralens.probing.probe_set import probe_set

    cfg = load_config(lora_run / "config.yaml")
    step = json.loads((lora_run / "metrics.json").read_text())["selected_step"]
    torch.manual_seed(0)
    base = AutoModelForSequenceClassification.from_pretrained(tiny_llama_dir, num_labels=2)
    model = PeftModel.from_pretrained(base, lora_run / "adapter")
    tok = load_tokenizer(str(tiny_llama_dir))
    p = cfg.probing
    probe = probe_set(load_run_task(cfg), p.max_examples, cfg.task.split_seed)
    fresh = capture(model, tok, probe.texts, cfg.model.max_length, p.batch_size, p.sink_tokens)
    selected = load_file(str(lora_run / "snapshots" / "selected.safetensors"))
    at_step = (lora_run / "snapshots" / f"step_{step:06d}.safetensors").read_bytes()
    assert (lora_run / "snapshots" / "selected.safetensors").read_bytes() == at_step
    assert selected.keys() == fresh.keys()
    for key in selected:
        torch.testing.assert_close(selected[key], fresh[key])


def test_full_run_saves_the_model(tiny_llama_dir: Path, tmp_path: Path) -> None:
    proc = _train(tiny_llama_dir, tmp_path / "full", "method=full", "training.learning_rate=1e-4")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "full" / "metrics.json").read_text())
    assert metrics["trainable_share"] == 1.0
    assert (tmp_path / "full" / "model" / "model.safetensors").is_file()


def test_killed_run_resumes_to_the_same_result(tiny_llama_dir: Path, tmp_path: Path) -> None:
    extra = ("lora.dropout=0.1",)
    ref = _train(tiny_llama_dir, tmp_path / "ref", *extra)
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "loralens",
        "train",
        "quickstart",
        f"model.name={tiny_llama_dir}",
        *TINY,
        *extra,
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (out / "checkpoints" / "checkpoint-6" / "trainer_state.json").exists():
        assert proc.poll() is None and time.time() < deadline, "run ended before checkpoint 6"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "metrics.json").exists()
    resumed = _train(tiny_llama_dir, out, *extra)
    assert resumed.returncode == 0, resumed.stderr
    a = json.loads((tmp_path / "ref" / "metrics.json").read_text())
    b = json.loads((out / "metrics.json").read_text())
    assert a["test"] == b["test"] and a["selected_step"] == b["selected_step"]
    wa = load_file(str(tmp_path / "ref" / "adapter" / "adapter_model.safetensors"))
    wb = load_file(str(out / "adapter" / "adapter_model.safetensors"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    for snap in ("step_000012.safetensors", "selected.safetensors"):
        sa = load_file(str(tmp_path / "ref" / "snapshots" / snap))
        sb = load_file(str(out / "snapshots" / snap))
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


def _diverge(tiny: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """Full fine-tuning at a learning rate of 1e30 (evaluated every step): a non-finite loss."""
    proc = _train(
        tiny, out, "method=full", "training.learning_rate=1e30", "training.eval_steps=1", *extra
    )
    assert proc.returncode == 2 and "loss became" in proc.stderr
    return proc


def test_non_finite_loss_stops_with_the_step_and_keeps_checkpoint(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "nan"
    proc = _diverge(tiny_llama_dir, out, "training.warmup_ratio=0")
    assert "at step" in proc.stderr
    assert not (out / "metrics.json").exists()
    # What is left to resume from has finite weights and evaluation (here: nothing at all).
    left = list((out / "checkpoints").glob("checkpoint-*"))
    assert all(checkpoint_problem(c) is None for c in left)
    assert left or "none is kept" in proc.stderr


def test_after_a_non_finite_loss_the_last_good_checkpoint_is_kept(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    # Warmup gives step 1 a learning rate of 0 (checkpoint-1 = the base, finite); step 2's
    # enormous rate makes checkpoint-2 non-finite, and step 3's loss stops the run.
    out = tmp_path / "nan"
    proc = _diverge(tiny_llama_dir, out, "training.warmup_ratio=0.5", "training.max_steps=4")
    assert "the last good checkpoint (checkpoint-1: finite weights and evaluation)" in proc.stderr
    assert "removing checkpoint-2" in proc.stderr
    assert [p.name for p in (out / "checkpoints").glob("checkpoint-*")] == ["checkpoint-1"]


def test_bad_targets_stop_before_training(tiny_llama_dir: Path, tmp_path: Path) -> None:
    proc = _train(tiny_llama_dir, tmp_path / "bad", "lora.targets=[query]")
    assert proc.returncode == 2
    assert "its linear modules are" in proc.stderr
    assert not (tmp_path / "bad" / "snapshots").exists()


def test_sanity_passes_on_tiny_llama(tiny_llama_dir: Path) -> None:
    proc = run_cli("sanity", "--model", str(tiny_llama_dir), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = json.loads(proc.stdout)
    assert {c["method"] for c in checks} == {"full", "lora"} and len(checks) == 12
    assert all(c["passed"] for c in checks)


@pytest.mark.slow
def test_sanity_passes_on_packaged_smollm2() -> None:
    proc = run_cli("sanity", "--model", "smollm2-135m", "--task", "rotten_tomatoes", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    checks = json.loads(proc.stdout)
    assert len(checks) == 12 and all(c["passed"] for c in checks)
