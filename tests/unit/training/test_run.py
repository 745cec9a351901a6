"""A run directory is reused only for the same run: another config is refused, by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from loralens.config import config_to_yaml, load_config
from loralens.errors import ConfigError
from loralens.training.folder import TrainingRun
from loralens.training.run import check_same_run


def _run_dir(tmp_path: Path, finished: bool) -> Path:
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yaml").write_text(config_to_yaml(load_config(None, ["method=lora"])))
    if finished:
        (out / TrainingRun.METRICS).write_text("{}")
    return out


def test_new_or_same_config_is_accepted(tmp_path: Path) -> None:
    check_same_run(load_config(None), TrainingRun(tmp_path / "new"))
    out = _run_dir(tmp_path, finished=True)
    # Settings outside the run (serving, report, study) may differ.
    check_same_run(load_config(None, ["method=lora", "serving.repeats=2"]), TrainingRun(out))


@pytest.mark.parametrize("finished", [True, False])
def test_another_config_is_refused_naming_the_differences(tmp_path: Path, finished: bool) -> None:
    out = _run_dir(tmp_path, finished)
    cfg = load_config(None, ["method=full", "training.learning_rate=5e-5"])
    with pytest.raises(ConfigError) as info:
        check_same_run(cfg, TrainingRun(out))
    msg = str(info.value)
    assert ("finished run" if finished else "interrupted run") in msg
    assert "method: 'lora' -> 'full'" in msg and "training.learning_rate: 0.0002 -> 5e-05" in msg
    assert "give another --out" in msg


def test_a_foreign_config_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("something: else\n")
    with pytest.raises(ConfigError, match="not a loralens run config"):
        check_same_run(load_config(None), TrainingRun(tmp_path))


def test_adapter_config_module_lists_are_written_sorted(tmp_path):
    import json

    from loralens.training.run import sort_module_lists

    config = tmp_path / "adapter_config.json"
    config.write_text(json.dumps({"target_modules": ["v_proj", "q_proj"], "r": 4}, indent=2))
    sort_module_lists(config)
    doc = json.loads(config.read_text())
    assert doc == {"target_modules": ["q_proj", "v_proj"], "r": 4}
    assert config.read_text() == json.dumps(doc, indent=2, sort_keys=True)
    sort_module_lists(tmp_path / "absent.json")  # a full fine-tune has none: nothing to do
