"""`loralens probe`: capture a base model's or a trained run's representations of a probe set."""

from __future__ import annotations

import json
from pathlib import Path

from loralens.data import get_task, load_task
from loralens.data.run_task import load_run_task
from loralens.errors import LoralensError
from loralens.models.load import load_classifier
from loralens.probing.capture import SINKS, capture, layer_keys, save_snapshot
from loralens.probing.pooling import DEFAULT_POOLING, DEFAULT_SINK_RATIO
from loralens.probing.probe_set import probe_set, run_probe_set
from loralens.training.folder import TrainingRun


def probe_command(
    model_or_run: str,
    task: str | None,
    out: Path,
    data_dir: Path | None = None,
    max_examples: int = 256,
    max_length: int = 64,
    batch_size: int = 32,
    sink_tokens: int = 1,
    sink_ratio: float | None = None,
) -> dict:
    """Capture every layer's pooled representations of the task's fixed probe set into `out`.

    A finished training run is probed on its own probe set (its task, data and split settings,
    probe size and sequence length); the arguments then only name what to check it against.
    """
    run = TrainingRun(Path(model_or_run))
    if run.exists() and run.finished():
        cfg = run.config()
        ran_on = run.metrics().task
        if task is not None and get_task(task).name != ran_on:
            raise LoralensError(
                f"{model_or_run} is a run of task '{ran_on}', not '{task}'; "
                "a run is probed on its own task (leave out --task)"
            )
        data = load_run_task(cfg)
        probe = run_probe_set(data, cfg)
        model, tok = run.load_model()
        max_length, sink_tokens = cfg.model.max_length, cfg.probing.sink_tokens
        sink_ratio = cfg.probing.sink_ratio
    else:
        if task is None:
            raise LoralensError(f"{model_or_run} is a model, not a training run: give --task")
        data = load_task(task, data_dir)
        probe = probe_set(data, max_examples)
        model, tok = load_classifier(model_or_run, data.spec.num_labels)
    sink_ratio = DEFAULT_SINK_RATIO if sink_ratio is None else sink_ratio
    reps = capture(model, tok, probe.texts, max_length, batch_size, sink_tokens, sink_ratio)
    info = {
        "probe_sha256": probe.sha256,
        "n": len(probe.texts),
        "source": model_or_run,
        "sink_tokens": sink_tokens,
        "sink_ratio": sink_ratio,
        "inputs_with_later_sinks": int((reps[SINKS] > sink_tokens).sum()),
    }
    save_snapshot(reps, out, {"step": "-1", "info": json.dumps(info)})
    layers = sum(1 for k in layer_keys(reps) if k.startswith(f"{DEFAULT_POOLING}."))
    hidden = reps[f"{DEFAULT_POOLING}.layer_0"].shape[1]
    return {**info, "out": str(out), "layers": layers, "hidden": hidden}
