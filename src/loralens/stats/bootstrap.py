"""Bootstrap confidence intervals over `scipy.stats.bootstrap`.

BCa is the default; when BCa is degenerate (all-equal data, a statistic such as `min`, too few
distinct resamples) scipy returns NaN bounds, and the same bootstrap distribution is reused for a
percentile interval instead. The method actually used is recorded in the result.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from loralens.stats._checks import as_sample, check_level
from loralens.stats.results import ConfidenceInterval

RngLike = int | np.random.Generator | None
METHODS = ("BCa", "percentile", "basic")


def _scipy_ci(
    data: tuple[np.ndarray, ...],
    statistic: Callable[..., Any],
    *,
    vectorized: bool | None,
    confidence_level: float,
    n_resamples: int,
    method: str,
    rng: RngLike,
) -> tuple[float, float, str]:
    """Run scipy's bootstrap; fall back to percentile on a degenerate BCa interval."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    kwargs = {"vectorized": vectorized, "confidence_level": confidence_level}
    with warnings.catch_warnings():
        # The degenerate-BCa warning is handled below by the percentile fallback.
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.bootstrap(
            data, statistic, n_resamples=n_resamples, method=method, rng=rng, **kwargs
        )
    low, high = res.confidence_interval
    if method == "BCa" and not (np.isfinite(low) and np.isfinite(high)):
        # Reuse the bootstrap distribution already drawn: no new resamples.
        res = stats.bootstrap(
            data, statistic, n_resamples=0, bootstrap_result=res, method="percentile", **kwargs
        )
        low, high = res.confidence_interval
        method = "percentile"
    return float(low), float(high), method


def bootstrap_ci(
    *samples: Any,
    statistic: Callable[..., Any] = np.mean,
    confidence_level: float = 0.95,
    n_resamples: int = 9999,
    method: str = "BCa",
    rng: RngLike = None,
) -> ConfidenceInterval:
    """Bootstrap CI of `statistic(*samples)`, each sample resampled independently."""
    if not samples:
        raise ValueError("bootstrap_ci needs at least one sample")
    check_level(confidence_level, "confidence_level")
    data = tuple(as_sample(s, f"sample {i}") for i, s in enumerate(samples))
    low, high, used = _scipy_ci(
        data,
        statistic,
        vectorized=None,  # scipy vectorizes when `statistic` takes an `axis` argument
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        method=method,
        rng=rng,
    )
    estimate = float(statistic(*data))
    return ConfidenceInterval(estimate, low, high, confidence_level, used, n_resamples)


def bootstrap_rows_ci(
    statistic: Callable[[np.ndarray], float],
    n_rows: int,
    *,
    confidence_level: float = 0.95,
    n_resamples: int = 9999,
    method: str = "BCa",
    rng: RngLike = None,
) -> ConfidenceInterval:
    """Bootstrap CI of `statistic(row_indices)`, resampling rows with replacement."""
    # `statistic` receives an integer array of row indices (length n_rows for a resample,
    # n_rows - 1 for the BCa jackknife) and indexes every aligned array with it, so that rows of
    # e.g. X and Y in a CKA over probe examples are resampled together.
    if n_rows < 2:
        raise ValueError(f"need at least 2 rows to bootstrap, got {n_rows}")
    check_level(confidence_level, "confidence_level")

    def on_indices(idx: np.ndarray) -> float:
        return float(statistic(np.asarray(idx, dtype=np.intp)))

    rows = np.arange(n_rows)
    low, high, used = _scipy_ci(
        (rows,),
        on_indices,
        vectorized=False,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        method=method,
        rng=rng,
    )
    return ConfidenceInterval(on_indices(rows), low, high, confidence_level, used, n_resamples)


def bootstrap_paired_ci(
    statistic: Callable[..., float],
    *arrays: Any,
    confidence_level: float = 0.95,
    n_resamples: int = 9999,
    method: str = "BCa",
    rng: RngLike = None,
) -> ConfidenceInterval:
    """Bootstrap CI of `statistic(*arrays)`, resampling the rows of all arrays together."""
    if not arrays:
        raise ValueError("bootstrap_paired_ci needs at least one array")
    mats = [np.asarray(a) for a in arrays]
    n_rows = {m.shape[0] if m.ndim else 0 for m in mats}
    if len(n_rows) != 1:
        raise ValueError(f"paired arrays must share their first dimension, got {sorted(n_rows)}")
    for i, m in enumerate(mats):
        if np.issubdtype(m.dtype, np.number) and not np.all(np.isfinite(m)):
            raise ValueError(f"array {i}: contains NaN or infinite values")
    return bootstrap_rows_ci(
        lambda idx: statistic(*(m[idx] for m in mats)),
        n_rows.pop(),
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        method=method,
        rng=rng,
    )
