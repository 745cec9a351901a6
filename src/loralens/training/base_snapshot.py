"""The base model's probe snapshot, captured once for a study task and copied as the step-0
snapshot of every run whose step-0 model is the base bit for bit (`Method.starts_at_base`).

A run copies it only when everything its own step-0 capture would depend on is recorded equal:
the model section, the probe set, the capture settings, the device, the torch version and its
thread count (reductions may round differently on another thread count). Otherwise it captures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from loralens.config import RunConfig
from loralens.methods import get_method

SNAPSHOT = "base.safetensors"
INPUTS = "base.json"


def snapshot_inputs(cfg: RunConfig, probe_sha256: str, device: str) -> dict[str, Any]:
    """What a step-0 capture of `cfg`'s base depends on, as JSON."""
    return {
        "model": cfg.model.model_dump(mode="json"),
        "probe_sha256": probe_sha256,
        "batch_size": cfg.probing.batch_size,
        "sink_tokens": cfg.probing.sink_tokens,
        "sink_ratio": cfg.probing.sink_ratio,
        "device": device,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def shared_step0(cfg: RunConfig, probe_sha256: str, device: str, base: Path | None) -> Path | None:
    """The base snapshot in folder `base` if the run's step-0 snapshot would be its bytes, else
    None (the run captures its own)."""
    if base is None or not get_method(cfg.method).starts_at_base:
        return None
    snapshot, inputs = base / SNAPSHOT, base / INPUTS
    if not (snapshot.is_file() and inputs.is_file()):
        return None
    recorded = json.loads(inputs.read_text())
    return snapshot if recorded == snapshot_inputs(cfg, probe_sha256, device) else None


def write_base_snapshot(cfg: RunConfig, out: Path) -> None:
    """Capture the base model's snapshot of the task's probe set into `out`, built and captured
    the way a full fine-tuning run of `cfg` takes its step-0 snapshot, with its inputs."""
    from loralens.data.run_task import load_run_task
    from loralens.probing.probe_set import run_probe_set
    from loralens.training.callbacks import SnapshotCallback
    from loralens.training.setup import build_model, resolve_device

    data = load_run_task(cfg)
    probe = run_probe_set(data, cfg)
    base_cfg = cfg.model_copy(update={"method": "full"})
    words = data.prompt.choices if data.prompt else None
    model, tok = build_model(base_cfg, data.spec.num_labels, kind=data.spec.kind, label_words=words)
    device = resolve_device(cfg)
    model.to(device)
    out.mkdir(parents=True, exist_ok=True)
    SnapshotCallback.of_run(cfg, probe, tok, out).snapshot(model, 0, out / SNAPSHOT)
    inputs = snapshot_inputs(cfg, probe.sha256, device)
    (out / INPUTS).write_text(json.dumps(inputs, indent=2, sort_keys=True))
