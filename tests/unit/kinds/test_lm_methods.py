"""Every training method runs on a language-modelling task (a tiny random Llama, a few steps)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from loralens.config import load_config
from loralens.errors import ConfigError
from loralens.training.folder import TrainingRun
from loralens.training.run import train_run


def _task(folder: Path) -> Path:
    words = ["the", "river", "runs", "over", "a", "stone", "and", "the", "bird", "sings"]
    text = "\n\n".join(" ".join(words[(i + j) % len(words)] for j in range(60)) for i in range(40))
    (folder / "lm.txt").write_text(text)
    path = folder / "lm.yaml"
    path.write_text(
        "name: lm\nkind: language_modeling\ntext_fields: [text]\nmetrics: [nll, perplexity]\n"
        "primary_metric: nll\nsource: {kind: file, file: lm.txt}\n"
    )
    return path


def _cfg(tiny: Path, task: Path, method: str, *extra: str):
    return load_config(
        None,
        [
            f"model.name={tiny}",
            "model.max_length=32",
            f"task.name={task}",
            "task.max_train=16",
            "task.max_val=4",
            "task.max_test=6",
            f"method={method}",
            "training.batch_size=8",
            "training.eval_steps=1",
            "training.learning_rate=1e-3",
            "probing.max_examples=8",
            "probing.snapshot_every=1",
            *extra,
        ],
    )


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("full", ()),
        ("lora", ()),
        ("dora", ()),
        ("adalora", ("adalora.tinit=0", "adalora.tfinal=0", "adalora.delta_t=1")),
    ],
)
def test_each_method_trains_and_scores_perplexity(tiny_llama_dir, tmp_path, method, extra):
    cfg = _cfg(tiny_llama_dir, _task(tmp_path), method, *extra)
    metrics = train_run(cfg, tmp_path / "run")
    assert metrics.steps == 2 and math.isclose(
        metrics.test["perplexity"], math.exp(metrics.test["nll"])
    )
    run = TrainingRun(tmp_path / "run")
    assert run.task_kind() == "language_modeling"
    records = run.predictions()
    # one record per scored test document; the 6 sampled windows are spread over them
    assert sum(r["windows"] for r in records) == 6 and all(r["tokens"] > 0 for r in records)
    assert run.data_record()["encoded"]["test"]["windows_scored"] == 6
    if method != "full":
        adapter = json.loads((run.adapter_dir / "adapter_config.json").read_text())
        assert adapter["task_type"] == "CAUSAL_LM"
    model, _ = run.load_model()  # the selected model loads back as a causal LM
    assert type(getattr(model, "base_model", model)).__name__ != "LlamaForSequenceClassification"


def test_a_4bit_base_is_refused_for_language_modelling(tiny_llama_dir, tmp_path):
    cfg = _cfg(tiny_llama_dir, _task(tmp_path), "qlora")
    with pytest.raises(ConfigError, match=r"needs model\.quantization: none"):
        train_run(cfg, tmp_path / "run")
    assert not (tmp_path / "run" / TrainingRun.METRICS).exists()
