"""Per-example cosine similarity between two representations of the same inputs."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from loralens.metrics._checks import (
    ZERO_VARIANCE_RTOL,
    MetricInputError,
    centre64,
    check_matrix,
    check_pair,
)

_MAX_ROWS_LISTED = 5


def _row_norms(z: Tensor, raw: Tensor, name: str, centred: bool) -> Tensor:
    """Row norms of `z`, raising for rows whose norm is zero relative to the data's scale."""
    norms = torch.linalg.vector_norm(z, dim=1)  # (n,)
    # A row that is zero up to rounding has no direction: its cosine would be noise.
    floor = ZERO_VARIANCE_RTOL * float(raw.abs().max()) * math.sqrt(raw.shape[1])
    zero = torch.nonzero(norms <= floor).flatten().tolist()
    if zero:
        listed = ", ".join(str(i) for i in zero[:_MAX_ROWS_LISTED])
        more = f" and {len(zero) - _MAX_ROWS_LISTED} more" if len(zero) > _MAX_ROWS_LISTED else ""
        where = " after centring" if centred else ""
        raise MetricInputError(
            f"{name}: rows {listed}{more} have zero norm{where} (shape {tuple(raw.shape)}); "
            "their cosine similarity is undefined"
        )
    return norms


def per_example_cosine(x: Tensor, y: Tensor, *, centred: bool = False) -> Tensor:
    """Cosine similarity of row i of `x` with row i of `y` (optionally centred), shape (n,)."""
    # With `centred`, each matrix is centred by its own column mean first, so the offset that
    # LLM activations share (large) does not make every pair of rows look alike.
    min_rows = 2 if centred else 1
    x = check_matrix(x, "x", min_rows=min_rows)
    y = check_matrix(y, "y", min_rows=min_rows)
    check_pair(x, y)
    if x.shape[1] != y.shape[1]:
        raise MetricInputError(
            "x and y must have the same number of features for a per-example cosine: "
            f"got shapes {tuple(x.shape)} and {tuple(y.shape)}"
        )
    xs = centre64(x) if centred else x.to(torch.float64)  # (n, d)
    ys = centre64(y) if centred else y.to(torch.float64)  # (n, d)
    denom = _row_norms(xs, x, "x", centred) * _row_norms(ys, y, "y", centred)  # (n,)
    return ((xs * ys).sum(dim=1) / denom).clamp(-1.0, 1.0)  # (n,)
