"""Jackknife CI: known answer for the mean, and bad input."""

import numpy as np
import pytest
from scipy import stats

from loralens.stats.jackknife import jackknife_ci


def test_jackknife_se_of_the_mean_is_the_standard_error() -> None:
    x = np.random.default_rng(0).normal(size=50)
    ci = jackknife_ci(lambda idx: float(x[idx].mean()), len(x))
    z = stats.norm.ppf(0.975)
    se = x.std(ddof=1) / np.sqrt(len(x))
    assert ci.estimate == pytest.approx(x.mean())
    assert ci.high - ci.low == pytest.approx(2 * z * se, rel=1e-9)
    assert ci.method == "jackknife"


def test_too_few_rows() -> None:
    with pytest.raises(ValueError, match="at least 3 rows"):
        jackknife_ci(lambda idx: 0.0, 2)
