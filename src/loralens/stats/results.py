"""Small frozen result records shared by the stats layer, each with a JSON-ready `to_dict()`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """Convert a result (dataclass, mapping, tuple, numpy scalar) to plain JSON types."""
    # Non-finite floats become None so that the output is strict JSON; an infinite bound
    # (one-sided interval) therefore reads as "unbounded", a NaN as "not available".
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


@dataclasses.dataclass(frozen=True)
class ConfidenceInterval:
    """A point estimate with its confidence interval and how the interval was obtained."""

    estimate: float
    low: float
    high: float
    confidence_level: float
    method: str  # e.g. "BCa", "percentile" (BCa was degenerate), "welch-t"
    n_resamples: int = 0

    def contains(self, value: float) -> bool:
        """Whether `value` lies inside the closed interval."""
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return to_jsonable(self)


@dataclasses.dataclass(frozen=True)
class StatResult:
    """Outcome of one hypothesis test: effect estimate, its CI, statistic and p-value."""

    test: str
    alternative: str
    estimate: float
    estimate_label: str  # what `estimate` is, e.g. "mean(a) - mean(b)"
    ci_low: float
    ci_high: float
    confidence_level: float
    statistic: float
    p_value: float
    n: tuple[int, ...]  # sample size per group (or (n_pairs,) for paired data)
    null_value: float = 0.0  # value of the estimate under H0 (e.g. -margin)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return to_jsonable(self)
