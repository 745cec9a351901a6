"""Input checks shared by the sparsity functions: 2-D, finite, float64, consistent shapes."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from loralens.errors import LoralensError


class SparsityInputError(LoralensError, ValueError):
    """A weight matrix, adapter or option given to a sparsity function is unusable."""


def as_matrix(x: object, name: str, *, allow_empty: bool = False) -> Tensor:
    """Return `x` as a detached float64 matrix, after checking it is 2-D and finite."""
    if not isinstance(x, Tensor):
        raise SparsityInputError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2:
        raise SparsityInputError(f"{name}: expected a 2-D matrix, got shape {tuple(x.shape)}")
    if x.is_complex():
        raise SparsityInputError(f"{name}: expected a real matrix, got dtype {x.dtype}")
    if x.numel() == 0 and not allow_empty:
        raise SparsityInputError(f"{name}: the matrix is empty (shape {tuple(x.shape)})")
    x = x.detach().to(torch.float64)
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise SparsityInputError(
            f"{name}: {bad} NaN/inf entries in the matrix of shape {tuple(x.shape)}"
        )
    return x


def check_same_shape(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    """Raise unless `a` and `b` have the same shape."""
    if a.shape != b.shape:
        raise SparsityInputError(
            f"shape mismatch: {name_a} has shape {tuple(a.shape)}, {name_b} has {tuple(b.shape)}"
        )


def check_positive_int(value: object, name: str) -> int:
    """Return `value` if it is an int ≥ 1 (bools excluded), else raise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SparsityInputError(f"{name} must be an integer ≥ 1, got {value!r}")
    return value


def check_finite_number(value: object, name: str) -> float:
    """Return `value` as a float if it is a finite real number, else raise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SparsityInputError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_rank_fits(rank: int, shape: tuple[int, ...], name: str) -> None:
    """Raise if `rank` exceeds min(d_out, d_in) of a matrix of `shape`."""
    # PEFT itself accepts r > min(d_out, d_in), but such an update still has rank ≤ min(d_out, d_in)
    # and every "per unit of r" ratio would be misleading, so loralens rejects it.
    limit = min(shape)
    if rank > limit:
        raise SparsityInputError(
            f"{name}: rank {rank} exceeds min(d_out, d_in) = {limit} of the "
            f"{shape[0]}×{shape[1]} update; a rank above the matrix size cannot be realised"
        )
