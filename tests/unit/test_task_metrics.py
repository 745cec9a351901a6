"""The metric registry: values, direction, and task files validated against it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from pydantic import ValidationError

from loralens.data import get_task
from loralens.data.spec import TaskSpec
from loralens.evaluation import score
from loralens.task_metrics import METRICS, get_metric


def test_values_of_a_planted_confusion() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    p = np.array([1, 1, 0, 0, 0, 0, 0, 1])  # tp 2, fn 1, fp 1, tn 4
    assert get_metric("accuracy").fn(y, p, 2, 1) == pytest.approx(6 / 8)
    assert get_metric("f1").fn(y, p, 2, 1) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    mcc = (2 * 4 - 1 * 1) / np.sqrt(3 * 3 * 5 * 5)
    assert get_metric("mcc").fn(y, p, 2, 1) == pytest.approx(mcc)


def test_every_metric_declares_direction_and_aggregation() -> None:
    for m in METRICS.values():
        assert isinstance(m.greater_is_better, bool) and m.aggregation == "mean"


def test_a_task_names_only_registered_metrics() -> None:
    spec = get_task("mrpc").model_dump()
    with pytest.raises(ValidationError, match="unknown metrics \\['auc'\\]; registered: accuracy"):
        TaskSpec.model_validate({**spec, "metrics": ["accuracy", "auc"]})


def test_scoring_uses_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = get_task("mrpc")
    doubled = dataclasses.replace(METRICS["f1"], fn=lambda y, p, n, pos: 2.0)
    monkeypatch.setitem(METRICS, "f1", doubled)
    assert score(spec, [0, 1], [0, 1])["f1"] == 2.0


def test_checkpoint_selection_follows_the_metric_direction(monkeypatch, tmp_path) -> None:
    from loralens.config import load_config
    from loralens.training.setup import training_arguments

    cfg = load_config(None)
    assert training_arguments(cfg, tmp_path, "cpu", "mcc").greater_is_better is True
    lower = dataclasses.replace(METRICS["mcc"], greater_is_better=False)
    monkeypatch.setitem(METRICS, "mcc", lower)
    assert training_arguments(cfg, tmp_path, "cpu", "mcc").greater_is_better is False
