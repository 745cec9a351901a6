"""`loralens probe`: capture a base model's or a trained run's representations of a probe set."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from loralens.config import load_config
from loralens.data import load_task
from loralens.models.load import load_classifier
from loralens.probing.capture import capture, save_snapshot
from loralens.probing.probe_set import probe_set


def load_trained(run_dir: Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, int]:
    """The selected model of a training run (base + adapter, or the full model) and max length."""
    from peft import PeftModel

    cfg = load_config(run_dir / "config.yaml")
    labels = json.loads((run_dir / "data.json").read_text())["label_names"]
    if (run_dir / "adapter").is_dir():
        base, tok = load_classifier(cfg.model.name, len(labels))
        return PeftModel.from_pretrained(base, run_dir / "adapter"), tok, cfg.model.max_length
    model, tok = load_classifier(str(run_dir / "model"), len(labels))
    return model, tok, cfg.model.max_length


def probe_command(
    model_or_run: str,
    task: str,
    out: Path,
    data_dir: Path | None = None,
    max_examples: int = 256,
    max_length: int = 64,
    batch_size: int = 32,
) -> dict:
    """Capture every layer's pooled representations of the task's fixed probe set into `out`."""
    data = load_task(task, data_dir)
    probe = probe_set(data, max_examples)
    path = Path(model_or_run)
    if (path / "config.yaml").is_file() and (path / "metrics.json").is_file():
        model, tok, max_length = load_trained(path)
    else:
        model, tok = load_classifier(model_or_run, data.spec.num_labels)
    reps = capture(model, tok, probe.texts, max_length, batch_size)
    info = {"probe_sha256": probe.sha256, "n": len(probe.texts), "source": model_or_run}
    save_snapshot(reps, out, {"step": "-1", "info": json.dumps(info)})
    layers = sum(1 for k in reps if k.startswith("mean."))
    return {**info, "out": str(out), "layers": layers, "hidden": reps["mean.layer_0"].shape[1]}
