"""The training run folder: one owner of its layout, a typed metrics record."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loralens.config import load_config
from loralens.training.folder import RUN_FIELDS, RunMetrics, TrainingRun, run_fields
from tests.conftest import REPO, run_metrics

OWNER = REPO / "src" / "loralens" / "training" / "folder.py"
# A run folder's file and folder names, as another module would spell them to open them.
LAYOUT = re.compile(
    r'"(metrics\.json|predictions\.jsonl|config\.yaml|data\.json|log\.json|env\.json|'
    r'adalora_rank_pattern\.json|selected\.safetensors)"|/ "(snapshots|adapter|checkpoints)"'
)


def test_no_module_but_the_owner_opens_run_files_by_name() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in sorted((REPO / "src").rglob("*.py"))
        if path != OWNER
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if LAYOUT.search(line)
    ]
    assert offenders == []


def test_the_pattern_catches_a_literal_file_name() -> None:
    assert LAYOUT.search('json.loads((run_dir / "metrics.json").read_text())')
    assert LAYOUT.search('PeftModel.from_pretrained(base, run_dir / "adapter")')


def test_a_run_written_through_the_type_reads_back(tmp_path: Path) -> None:
    run = TrainingRun(tmp_path / "run")
    assert not run.exists() and not run.finished()
    cfg = load_config(None, ["method=lora", "training.seed=7"])
    run.write_config(cfg)
    run.write_json(run.DATA, {"label_names": ["neg", "pos"]})
    run.write_predictions([{"index": 0, "label": 1, "pred": 1, "logits": [0.0, 1.0]}])
    assert run.exists() and not run.finished()
    metrics = run_metrics(seed=7)
    run.write_json(run.METRICS, metrics.to_dict())
    assert run.finished() and run.metrics() == metrics
    assert run.config() == cfg and run.label_names() == ["neg", "pos"]
    assert run.predictions()[0]["pred"] == 1 and run.rank_pattern() is None
    assert not list(run.root.glob("*.tmp"))  # atomic writes leave nothing behind


def test_metrics_from_another_writer_are_refused() -> None:
    with pytest.raises(TypeError):
        RunMetrics.from_dict({**run_metrics().to_dict(), "accuracy_typo": 1.0})


def test_run_fields_are_what_define_a_run() -> None:
    a = run_fields(load_config(None, ["serving.repeats=3", "report.alpha=0.1"]))
    assert set(a) == set(RUN_FIELDS) and a == run_fields(load_config(None))
    assert a != run_fields(load_config(None, ["training.learning_rate=1e-5"]))
