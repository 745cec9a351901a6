"""Task metrics from labels and predictions (scikit-learn), as each task declares them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from loralens.data.spec import TaskSpec


def metric_value(name: str, labels: np.ndarray, preds: np.ndarray, spec: TaskSpec) -> float:
    """One metric: accuracy, F1 (binary on the positive label, else macro) or MCC."""
    if name == "accuracy":
        return float(accuracy_score(labels, preds))
    if name == "f1":
        if spec.num_labels == 2:
            return float(f1_score(labels, preds, pos_label=spec.positive_label, zero_division=0))
        return float(f1_score(labels, preds, average="macro", zero_division=0))
    if name == "mcc":
        return float(matthews_corrcoef(labels, preds))
    raise ValueError(f"unknown metric '{name}'")


def score(spec: TaskSpec, labels: Sequence[int], preds: Sequence[int]) -> dict[str, float]:
    """Every metric the task declares, keyed by name."""
    y, p = np.asarray(labels), np.asarray(preds)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"labels {y.shape} and predictions {p.shape} must be equal, non-empty")
    return {m: metric_value(m, y, p, spec) for m in spec.metrics}
