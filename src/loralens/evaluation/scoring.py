"""Task metrics from labels and predictions (scikit-learn), as each task declares them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from loralens.data.spec import TaskSpec
from loralens.task_metrics import get_metric


def score(spec: TaskSpec, labels: Sequence[int], preds: Sequence[int]) -> dict[str, float]:
    """Every metric the task declares, keyed by name."""
    y, p = np.asarray(labels), np.asarray(preds)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"labels {y.shape} and predictions {p.shape} must be equal, non-empty")
    return {m: get_metric(m).fn(y, p, spec.num_labels, spec.positive_label) for m in spec.metrics}
