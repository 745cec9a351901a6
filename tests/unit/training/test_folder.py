"""The training run folder: one owner of its layout, a typed metrics record."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loralens.config import load_config
from loralens.methods import METHODS
from loralens.training.folder import (
    COMMON_FIELDS,
    RunMetrics,
    TrainingRun,
    run_fields,
    run_sections,
)
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
    assert a == run_fields(load_config(None))
    assert a != run_fields(load_config(None, ["training.learning_rate=1e-5"]))


# A setting of each section a method may own, and a value other than its default.
OWN_SETTING = {"lora": "lora.rank=4", "adalora": "adalora.init_r=9"}
# Sections of a run config that are not a training run's: the study, its analysis and tools.
STUDY_SECTIONS = {"name", "executor", "tracker", "wandb", "study", "serving", "report", "hpo"}


@pytest.mark.parametrize("method", list(METHODS))
def test_a_run_key_holds_its_method_settings_and_no_other(method: str) -> None:
    base = ["model.quantization=nf4"] if METHODS[method].quantized_base else []
    cfg = load_config(None, [f"method={method}", *base])
    assert set(run_sections(method)) == {*COMMON_FIELDS, *METHODS[method].settings}
    for section, override in OWN_SETTING.items():
        changed = run_fields(load_config(None, [f"method={method}", *base, override]))
        assert (changed != run_fields(cfg)) == (section in METHODS[method].settings), section
    # the compared pooling is the analysis' choice: every pooling is captured
    pooled = load_config(None, [f"method={method}", *base, "probing.pooling=last"])
    assert run_fields(pooled) == run_fields(cfg)


def test_every_config_section_is_a_run_section_or_the_study() -> None:
    owned = {s for m in METHODS.values() for s in m.settings}
    assert set(OWN_SETTING) == owned  # a new method section needs a planted change above
    sections = set(load_config(None).model_dump())
    assert sections == {*COMMON_FIELDS, *owned, *STUDY_SECTIONS}
