"""Drift of a run directory: read its snapshots, compute controls, write tables and a summary."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForSequenceClassification

from loralens.config import RunConfig
from loralens.data.run_task import load_run_task
from loralens.drift.tables import control_rows, drift_rows, summarize
from loralens.errors import LoralensError
from loralens.models.load import load_tokenizer
from loralens.models.registry import resolve_model
from loralens.probing.capture import capture, read_metadata
from loralens.probing.probe_set import run_probe_set
from loralens.training.folder import TrainingRun


class DriftInputError(LoralensError):
    """A run directory cannot be analysed for drift."""


def read_snapshots(run_dir: Path) -> tuple[dict, list[tuple[int, bool, dict]], str]:
    """(step-0 representations, [(step, is_selected, reps)], probe sha256) of a run.

    Raises if there are no snapshots, no step-0 snapshot, or snapshots of different probe sets.
    """
    run = TrainingRun(run_dir)
    folder = run.snapshots
    paths = sorted(folder.glob("step_*.safetensors"))
    if not paths:
        raise DriftInputError(f"{folder}: no snapshots (step_*.safetensors); train with loralens")
    selected = run.selected_snapshot
    paths += [selected] if selected.is_file() else []
    metas = {p: read_metadata(p) for p in paths}
    probes = {json.loads(m.get("info", "{}")).get("probe_sha256") for m in metas.values()}
    if len(probes) != 1:
        raise DriftInputError(
            f"{folder}: snapshots of {len(probes)} different probe sets; drift compares "
            "representations of one probe set (retrain the run)"
        )
    snaps = [(int(metas[p]["step"]), p == selected, load_file(str(p))) for p in paths]
    base = next((reps for step, sel, reps in snaps if step == 0 and not sel), None)
    if base is None:
        raise DriftInputError(f"{folder}: no step-0 snapshot of the base model")
    return base, snaps, str(probes.pop())


def random_init_representations(cfg: RunConfig, seed: int = 20_241_122) -> dict:
    """The probe set's representations in a randomly initialised copy of the base architecture."""
    data = load_run_task(cfg)
    probe = run_probe_set(data, cfg)
    tok = load_tokenizer(cfg.model.name)
    path, _ = resolve_model(cfg.model.name)
    torch.manual_seed(seed)
    # the head is not captured: a language-modelling task (no labels) takes a 2-label one
    model_cfg = AutoConfig.from_pretrained(path, num_labels=max(data.spec.num_labels, 2))
    random_model = AutoModelForSequenceClassification.from_config(model_cfg)
    random_model.config.pad_token_id = tok.pad_token_id
    args = (tok, probe.texts, cfg.model.max_length, cfg.probing.batch_size)
    p = cfg.probing
    return capture(random_model, *args, sink_tokens=p.sink_tokens, sink_ratio=p.sink_ratio)


OWN_BASE = "the run's step-0 snapshot"
FP32_BASE = "the fp32 base (the run's step 0 on its 4-bit base shows what quantisation moved)"


def fp32_base(cfg: RunConfig, probe_sha: str, control_dir: Path | None) -> dict:
    """The probe set's representations in the unquantised base of `cfg`: the control stage's
    base snapshot when it is of this probe set and unquantised, else captured now."""
    from loralens.training.base_snapshot import INPUTS, SNAPSHOT, write_base_snapshot

    if control_dir is not None and (control_dir / SNAPSHOT).is_file():
        info = json.loads(read_metadata(control_dir / SNAPSHOT).get("info", "{}"))
        inputs = json.loads((control_dir / INPUTS).read_text())
        unquantised = inputs.get("model", {}).get("quantization", "none") == "none"
        if info.get("probe_sha256") == probe_sha and unquantised:
            return load_file(str(control_dir / SNAPSHOT))
    unquantised_cfg = cfg.model_copy(
        update={"model": cfg.model.model_copy(update={"quantization": "none"}), "method": "full"}
    )
    with tempfile.TemporaryDirectory() as tmp:
        write_base_snapshot(unquantised_cfg, Path(tmp))
        reps = load_file(str(Path(tmp) / SNAPSHOT))
        info = json.loads(read_metadata(Path(tmp) / SNAPSHOT).get("info", "{}"))
    if info.get("probe_sha256") != probe_sha:
        raise DriftInputError("the fp32 base was captured on another probe set than the run's")
    return reps


def reference(
    cfg: RunConfig, own_base: dict, probe_sha: str, control_dir: Path | None
) -> tuple[dict, str]:
    """What drift is measured against, and its name: every method against the same fp32 base
    (a run on a 4-bit base included, whose own step 0 then shows quantisation's drift)."""
    if not cfg.quantized_base:
        return own_base, OWN_BASE
    return fp32_base(cfg, probe_sha, control_dir), FP32_BASE


def write_control(cfg: RunConfig, out: Path) -> None:
    """Save the random-init control representations for reuse across the runs of a task."""
    out.mkdir(parents=True, exist_ok=True)
    save_file(random_init_representations(cfg), str(out / "random_init.safetensors"))


def run_drift(
    run_dir: Path,
    out: Path,
    control_dir: Path | None = None,
    n_perm: int = 100,
    compared: str | None = None,
) -> dict:
    """Drift tables (CSV + Parquet), controls and a JSON summary for one run, written to `out`.

    `compared`: the pooling drift is compared on (None: the run's probing.pooling).
    """
    own_base, snaps, probe_sha = read_snapshots(run_dir)
    cfg = TrainingRun(run_dir).config()
    base, against = reference(cfg, own_base, probe_sha, control_dir)
    if control_dir is None:
        rand = random_init_representations(cfg)
    else:
        rand = load_file(str(control_dir / "random_init.safetensors"))
    rows = drift_rows(base, snaps, n_perm=n_perm, compared=compared or cfg.probing.pooling)
    controls = control_rows(base, rand)
    summary = {
        "run": Path(run_dir).name,  # the folder, not where it lies: reruns write the same bytes
        "probe_sha256": probe_sha,
        "reference": against,
        "summary": summarize(rows, controls),
        "controls": controls,
    }
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    if "cka_ci" in frame:
        frame = frame.assign(cka_ci_low=frame.cka_ci.str[0], cka_ci_high=frame.cka_ci.str[1]).drop(
            columns="cka_ci"
        )
    frame.to_csv(out / "drift.csv", index=False)
    frame.to_parquet(out / "drift.parquet", index=False)
    pd.DataFrame(controls).to_csv(out / "controls.csv", index=False)
    (out / "drift.json").write_text(json.dumps({**summary, "rows": rows}, indent=2))
    return summary
