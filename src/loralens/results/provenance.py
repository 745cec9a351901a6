"""The `study` block of results.json: what was run, on what, with which caveats, and when."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loralens.models.registry import REGISTRY

SPLIT_LIMITS = (("max_train", "training"), ("max_val", "validation"), ("max_test", "test"))


def model_caveats(model: str, encoder: str | None) -> list[str]:
    """The registry's caveats of the decoder and the encoder baseline (e.g. quantized weights)."""
    out = []
    for name in dict.fromkeys(n for n in (model, encoder) if n):
        spec = REGISTRY.get(name)
        if spec is not None and spec.caveat:
            out.append(f"{name}: {spec.caveat}")
    return out


def budget_caveats(config: Mapping[str, Any]) -> list[str]:
    """Budget limits a reader should know: subsampled splits, truncation, capped steps."""
    task, training = config.get("task") or {}, config.get("training") or {}
    caps = [f"{task[key]} {what} examples" for key, what in SPLIT_LIMITS if task.get(key)]
    out = []
    if caps:
        out.append(
            f"Splits capped at {', '.join(caps)} per task (a larger split is subsampled, "
            "stratified; the data table gives the size of each split)"
        )
    length = (config.get("model") or {}).get("max_length")
    steps = training.get("max_steps", -1)
    budget = f"{steps} steps" if steps and steps > 0 else f"{training.get('epochs')} epoch(s)"
    out.append(f"Sequences truncated to {length} tokens; training for {budget} per run")
    return out


def stage_times(inputs: Mapping[str, Path]) -> tuple[float | None, float]:
    """Earliest start (epoch s) and summed compute seconds of the upstream stages' manifests."""
    starts, seconds = [], 0.0
    for path in inputs.values():
        manifest = path / "manifest.json"
        if manifest.is_file():
            timings = json.loads(manifest.read_text()).get("timings") or {}
            if timings.get("started") is not None:
                starts.append(float(timings["started"]))
            seconds += float(timings.get("seconds") or 0.0)
    return (min(starts) if starts else None), seconds


def _iso(epoch: float) -> str:
    """An epoch time as ISO 8601 UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def study_block(
    config: Mapping[str, Any], tasks: list[str], inputs: Mapping[str, Path], environment: dict
) -> dict[str, Any]:
    """Name, resolved config, matrix, model, caveats, environment and timings of a study."""
    st = config.get("study") or {}
    model = (config.get("model") or {}).get("name", "")
    started, compute = stage_times(inputs)
    now = time.time()
    return {
        "name": config.get("name"),
        "config": dict(config),
        "tasks": list(tasks),  # declared task names (study.tasks may name files)
        "methods": list(st.get("methods") or []),
        "seeds": list(st.get("seeds") or []),
        "model": model,
        "caveats": model_caveats(model, st.get("encoder_model")) + budget_caveats(config),
        "environment": environment,
        "started": _iso(started if started is not None else now),
        "finished": _iso(now),
        "wall_time_s": now - started if started is not None else 0.0,
        "compute_time_s": compute,
    }
