"""Input checks shared by the metrics: 2-D, real, finite, enough rows, matching rows, variance."""

from __future__ import annotations

import torch
from torch import Tensor

from loralens.errors import LoralensError

# Data whose largest column range (max - min) is below this fraction of its largest magnitude
# are treated as constant: such variation is at the level of float64 rounding of the offset.
ZERO_VARIANCE_RTOL = 1e-12


class MetricInputError(LoralensError, ValueError):
    """A representation matrix given to a metric is unusable (shape, values or variance)."""


def _shape(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


def check_matrix(x: object, name: str, *, min_rows: int = 1, varying: bool = False) -> Tensor:
    """Return `x` detached if real, finite, 2-D, with enough rows (and, if `varying`, varying)."""
    if not isinstance(x, Tensor):
        raise MetricInputError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2:
        raise MetricInputError(
            f"{name}: expected a 2-D matrix (n_examples, n_features), got shape {_shape(x)}"
        )
    if x.is_complex() or x.dtype == torch.bool:
        raise MetricInputError(f"{name}: expected real numbers, got dtype {x.dtype}")
    n, d = x.shape
    if d == 0:
        raise MetricInputError(f"{name}: has no feature columns (shape {_shape(x)})")
    if n < min_rows:
        raise MetricInputError(
            f"{name}: needs at least {min_rows} rows (examples), got {n} (shape {_shape(x)})"
        )
    x = x.detach()
    # One pass over the data serves both checks: NaN and ±inf propagate into the column ranges.
    lo, hi = x.amin(dim=0).to(torch.float64), x.amax(dim=0).to(torch.float64)  # (d,) each
    if not bool(torch.isfinite(lo).all() & torch.isfinite(hi).all()):
        n_nan, n_inf = int(torch.isnan(x).sum()), int(torch.isinf(x).sum())
        raise MetricInputError(
            f"{name}: contains {n_nan} NaN and {n_inf} infinite values (shape {_shape(x)})"
        )
    if varying:
        _check_variance(lo, hi, name, _shape(x))
    return x


def _check_variance(lo: Tensor, hi: Tensor, name: str, shape: tuple[int, ...]) -> None:
    """Raise if every column range hi - lo is zero relative to the data's largest magnitude."""
    spread = float((hi - lo).max())
    scale = float(torch.maximum(hi.abs(), lo.abs()).max())
    if spread <= ZERO_VARIANCE_RTOL * scale:
        raise MetricInputError(
            f"{name}: has zero variance (every column is constant, shape {shape}, "
            f"max |{name}| = {scale:.6g}); the similarity is undefined"
        )


def check_pair(x: Tensor, y: Tensor, names: tuple[str, str] = ("x", "y")) -> None:
    """Raise unless `x` and `y` describe the same examples (same rows) on the same device."""
    if x.shape[0] != y.shape[0]:
        raise MetricInputError(
            f"{names[0]} and {names[1]} must have the same number of rows (examples): "
            f"got shapes {_shape(x)} and {_shape(y)}"
        )
    if x.device != y.device:
        raise MetricInputError(
            f"{names[0]} and {names[1]} must be on the same device: got {x.device} and {y.device}"
        )


def centre64(x: Tensor) -> Tensor:
    """Column-centre `x` in float64 on its own device (before any product is formed)."""
    xc = x.to(torch.float64, copy=True)  # (n, d): a fresh copy, the caller's tensor is untouched
    return xc.sub_(xc.mean(dim=0, keepdim=True))  # in place: one n×d allocation in all


def check_positive_int(value: object, name: str, *, minimum: int) -> int:
    """Return `value` if it is an int ≥ `minimum`, else raise MetricInputError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise MetricInputError(f"{name}: expected an integer ≥ {minimum}, got {value!r}")
    return value
