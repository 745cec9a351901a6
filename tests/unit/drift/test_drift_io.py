"""Drift of a run folder: what it is measured against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from loralens.config import RunConfig
from loralens.drift.io import FP32_BASE, OWN_BASE, DriftInputError, run_drift
from loralens.probing.capture import LENGTHS, save_snapshot
from loralens.probing.pooling import POOLINGS
from loralens.training.base_snapshot import INPUTS, SNAPSHOT
from loralens.training.folder import TrainingRun

PROBE = "probe-sha"


def _reps(seed: int, base: dict | None = None, noise: float = 0.0) -> dict[str, torch.Tensor]:
    """Snapshot tensors: every pooling x 3 layers of 24 inputs, `base` plus noise if given."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for pooling in POOLINGS:
        for layer in range(3):
            key = f"{pooling}.layer_{layer}"
            fresh = torch.randn(24, 16, generator=gen)
            out[key] = fresh if base is None else base[key] + noise * fresh
    return out | {LENGTHS: torch.full((24,), 10)}


def _save(reps: dict, path: Path, step: int) -> None:
    save_snapshot(reps, path, {"step": str(step), "info": json.dumps({"probe_sha256": PROBE})})


def _run(root: Path, method: str, fp32: dict) -> Path:
    """A run whose step 0 is the fp32 base moved by 0.5 noise (a 4-bit base, for qlora) or the
    base itself, and whose step 10 is its step 0 moved by 0.2 noise."""
    run = TrainingRun(root)
    run.write_config(RunConfig(method=method))
    step0 = _reps(1, fp32, 0.5) if method == "qlora" else fp32
    _save(step0, run.snapshots / "step_000000.safetensors", 0)
    _save(_reps(2, step0, 0.2), run.snapshots / "step_000010.safetensors", 10)
    return root


def _control(root: Path, fp32: dict) -> Path:
    root.mkdir(parents=True)
    _save(fp32, root / SNAPSHOT, 0)
    (root / INPUTS).write_text(json.dumps({"model": {"quantization": "none"}}))
    _save(_reps(9), root / "random_init.safetensors", 0)
    return root


def _drift_by_step(out: Path) -> dict[int, float]:
    rows = json.loads((out / "drift.json").read_text())["rows"]
    picked = [r for r in rows if r["pooling"] == "mean_nosink" and r["layer"] == 1]
    return {r["step"]: 1 - r["cka_debiased"] for r in picked}


def test_a_run_on_a_4bit_base_drifts_from_the_fp32_base_every_method_is_measured_against(
    tmp_path: Path,
) -> None:
    # Planted: quantisation moves the base by 0.5 noise, training by 0.2 more. Measured against
    # its own 4-bit step 0, QLoRA's drift would leave out the first; against the fp32 base (as
    # full fine-tuning is measured), its step 0 shows what quantisation moved, and step 10 more.
    fp32 = _reps(0)
    control = _control(tmp_path / "control", fp32)
    for method in ("qlora", "lora"):
        out = tmp_path / f"drift-{method}"
        summary = run_drift(_run(tmp_path / method, method, fp32), out, control_dir=control)
        drift = _drift_by_step(out)
        if method == "qlora":
            assert summary["reference"] == FP32_BASE
            assert drift[0] > 0.05  # quantisation's own drift
            assert drift[10] > drift[0]
        else:
            assert summary["reference"] == OWN_BASE
            assert drift[0] == pytest.approx(0.0, abs=1e-9)


def test_a_control_of_another_probe_set_is_not_used_as_the_fp32_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control's base snapshot is of another probe set: the fp32 base is captured anew
    # (here refused, to see that it was asked for), never compared row for row with the run's.
    fp32 = _reps(0)
    control = _control(tmp_path / "control", fp32)
    save_snapshot(fp32, control / SNAPSHOT, {"step": "0", "info": '{"probe_sha256": "other"}'})
    captured = []

    def capture_now(cfg: RunConfig, out: Path) -> None:
        captured.append(cfg)
        raise DriftInputError("captured")

    monkeypatch.setattr("loralens.training.base_snapshot.write_base_snapshot", capture_now)
    with pytest.raises(DriftInputError, match="captured"):
        run_drift(_run(tmp_path / "qlora", "qlora", fp32), tmp_path / "out", control)
    assert [(c.method, c.model.quantization) for c in captured] == [("full", "none")]
