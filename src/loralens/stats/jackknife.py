"""Delete-one jackknife confidence intervals for statistics of aligned rows.

Why not the bootstrap for CKA over probe examples: resampling rows with replacement duplicates
examples, and duplicated rows inflate (biased) CKA, so the whole bootstrap distribution can lie
above the point estimate (the interval then excludes it, and BCa degenerates). Deleting one row
at a time never duplicates a row; the jackknife standard error is consistent for smooth
functions of moments such as CKA (Efron & Tibshirani 1993, ch. 11).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from loralens.stats.results import ConfidenceInterval


def jackknife_ci(
    statistic: Callable[[np.ndarray], float], n_rows: int, confidence_level: float = 0.95
) -> ConfidenceInterval:
    """Normal-approximation CI estimate ± z·SE_jackknife of `statistic(row_indices)`."""
    if n_rows < 3:
        raise ValueError(f"the jackknife needs at least 3 rows, got {n_rows}")
    full = np.arange(n_rows)
    leave_out = np.array([statistic(np.delete(full, i)) for i in range(n_rows)])
    estimate = statistic(full)
    se = float(np.sqrt((n_rows - 1) / n_rows * np.sum((leave_out - leave_out.mean()) ** 2)))
    z = float(stats.norm.ppf(0.5 + confidence_level / 2))
    return ConfidenceInterval(
        estimate=float(estimate),
        low=float(estimate - z * se),
        high=float(estimate + z * se),
        confidence_level=confidence_level,
        method="jackknife",
    )
