"""Input validation shared by the stats layer: every bad input fails loudly with a ValueError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

ALTERNATIVES = ("two-sided", "less", "greater")


def as_sample(values: Any, name: str, *, min_n: int = 2) -> np.ndarray:
    """Return `values` as a finite 1-D float64 array with at least `min_n` entries."""
    if isinstance(values, Mapping):
        # A mapping keyed by seed invites pairing runs that share a seed number; seeds of
        # different methods are independent runs, so only the values are accepted.
        raise TypeError(f"{name}: pass a sequence of values, not a mapping (seed keys are ignored)")
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence of numbers, got shape {arr.shape}")
    if arr.size < min_n:
        raise ValueError(f"{name}: need at least {min_n} values, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def as_positive_sample(values: Any, name: str, *, min_n: int = 2) -> np.ndarray:
    """Return `values` as a sample of strictly positive numbers (for log-ratio tests)."""
    arr = as_sample(values, name, min_n=min_n)
    if np.any(arr <= 0):
        raise ValueError(f"{name}: all values must be > 0 for a ratio on the log scale")
    return arr


def as_pair(x: Any, y: Any, names: tuple[str, str] = ("x", "y"), *, min_n: int = 2) -> tuple:
    """Return two aligned samples (same length, finite) for a paired analysis."""
    a = as_sample(x, names[0], min_n=min_n)
    b = as_sample(y, names[1], min_n=min_n)
    if a.size != b.size:
        raise ValueError(
            f"paired data must have equal lengths: {names[0]} has {a.size}, {names[1]} has {b.size}"
        )
    return a, b


def as_bool_pair(x: Any, y: Any, names: tuple[str, str] = ("a", "b")) -> tuple:
    """Return two aligned boolean arrays (per-example correctness of two models)."""
    arrays = []
    for values, name in zip((x, y), names, strict=True):
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.size < 1:
            raise ValueError(f"{name}: expected a non-empty 1-D array, got shape {arr.shape}")
        if arr.dtype != np.bool_:
            if not np.all(np.isin(arr, (0, 1))):
                raise ValueError(f"{name}: per-example correctness must be boolean or 0/1")
            arr = arr.astype(bool)
        arrays.append(arr)
    if arrays[0].size != arrays[1].size:
        raise ValueError(
            f"paired data must have equal lengths: {names[0]} has {arrays[0].size}, "
            f"{names[1]} has {arrays[1].size}"
        )
    return arrays[0], arrays[1]


def check_alternative(alternative: str) -> str:
    """Return `alternative` if it is one of scipy's names, else raise."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    return alternative


def check_level(value: float, name: str) -> float:
    """Return a probability-like level strictly inside (0, 1), else raise."""
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {value}")
    return float(value)
