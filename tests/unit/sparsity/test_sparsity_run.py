"""ΔW of a full fine-tuning run: the target preset resolves per architecture (here BERT)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from loralens.config import config_to_yaml, load_config
from loralens.models.load import load_classifier
from loralens.sparsity.run import run_sparsity
from loralens.training.folder import TrainingRun
from tests.conftest import run_metrics

PLANTED = "bert.encoder.layer.0.attention.self.query"


def _full_run(folder: Path, targets: str) -> Path:
    """A full fine-tuning run of the packaged MiniLM whose only change is a rank-1 ΔW in PLANTED."""
    model, _ = load_classifier("minilm-l6", 2)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    w = state[f"{PLANTED}.weight"]  # (d_out, d_in)
    gen = torch.Generator().manual_seed(0)
    u, v = torch.randn(w.shape[0], 1, generator=gen), torch.randn(1, w.shape[1], generator=gen)
    state[f"{PLANTED}.weight"] = w + 0.05 * (u @ v)
    run = folder / f"run-{targets}"
    (run / "model").mkdir(parents=True)
    save_file(state, str(run / "model" / "model.safetensors"))
    cfg = load_config(None, ["method=full", "model.name=minilm-l6", f"lora.targets={targets}"])
    (run / "config.yaml").write_text(config_to_yaml(cfg))
    metrics = run_metrics(method="full", task="t", seed=0)
    (run / TrainingRun.METRICS).write_text(json.dumps(metrics.to_dict()))
    (run / "data.json").write_text(json.dumps({"label_names": ["neg", "pos"]}))
    return run


@pytest.mark.parametrize(
    ("targets", "suffixes"),
    [("qv", {"query", "value"}), ("qkvo", {"query", "key", "value", "attention.output.dense"})],
)
def test_full_run_of_an_encoder_finds_its_preset_matrices(
    tmp_path: Path, targets: str, suffixes: set[str]
) -> None:
    result = run_sparsity(_full_run(tmp_path, targets))
    modules = {r["module"] for r in result["rows"]}
    assert len(modules) == 6 * len(suffixes)  # 6 layers of MiniLM-L6
    assert all(any(m.endswith("." + s) for s in suffixes) for m in modules)
    assert not any(m.endswith(("intermediate.dense", "layer.0.output.dense")) for m in modules)
    planted = next(r for r in result["rows"] if r["module"] == PLANTED)
    assert planted["effective_rank"] == pytest.approx(1.0, abs=1e-3)
