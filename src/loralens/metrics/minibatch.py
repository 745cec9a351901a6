"""Minibatch linear CKA (Nguyen et al. 2021): a ratio of HSIC_1 averaged over minibatches.

CKA_mb = mean_b HSIC_1(X_b, Y_b) / √(mean_b HSIC_1(X_b, X_b) · mean_b HSIC_1(Y_b, Y_b)).

Each HSIC_1 is an unbiased estimate of the population HSIC whatever the batch size, so the
averages (and, for large n, the ratio) do not depend on the batch size in expectation. The mean
of per-batch CKA ratios would: it is biased by the nonlinearity of the ratio at small batches.
"""

from __future__ import annotations

import torch
from torch import Tensor

from loralens.metrics._checks import (
    MetricInputError,
    centre64,
    check_matrix,
    check_pair,
    check_positive_int,
)
from loralens.metrics.cka import (
    MIN_ROWS_DEBIASED,
    check_self_hsic,
    compare,
    hsic1_from_terms,
    resolve_form,
    summarise,
)


def minibatch_hsic(x: Tensor, y: Tensor, *, batch_size: int) -> tuple[Tensor, Tensor, Tensor]:
    """Mean HSIC_1 over minibatches: (HSIC(X, Y), HSIC(X, X), HSIC(Y, Y)), float64 scalars."""
    terms = _batch_terms(x, y, batch_size, varying=False)
    return terms[0], terms[1], terms[2]


def _batch_terms(x: Tensor, y: Tensor, batch_size: int, *, varying: bool) -> Tensor:
    """Batch means of HSIC_1 (xy, xx, yy) and of the self-terms' scales (xx, yy), shape (5,)."""
    batch_size = check_positive_int(batch_size, "batch_size", minimum=MIN_ROWS_DEBIASED)
    x = check_matrix(x, "x", min_rows=MIN_ROWS_DEBIASED, varying=varying)
    y = check_matrix(y, "y", min_rows=MIN_ROWS_DEBIASED, varying=varying)
    check_pair(x, y)
    n = x.shape[0]
    n_batches = n // batch_size
    if n_batches == 0:
        raise MetricInputError(f"batch_size={batch_size} exceeds the number of rows n={n}")
    # Contiguous batches of near-equal size, each ≥ batch_size rows: no row is dropped.
    totals = torch.zeros(5, dtype=torch.float64, device=x.device)  # (xy, xx, yy, sx, sy)
    for xb, yb in zip(
        torch.tensor_split(x, n_batches), torch.tensor_split(y, n_batches), strict=True
    ):
        m = xb.shape[0]
        form = resolve_form("auto", m, xb.shape[1], yb.shape[1])
        # A constant batch is allowed here (its HSIC is 0); variance is checked on the whole.
        bx = summarise(centre64(xb), keep_gram=form == "gram", name="x")
        by, cross = compare(bx, centre64(yb), form)
        ab = torch.dot(bx.row_sq_norms, by.row_sq_norms)
        hxy = hsic1_from_terms(cross, bx.sq_norm, by.sq_norm, ab, m)
        selves = [bx.hsic(debiased=True), by.hsic(debiased=True)]
        totals += torch.stack([hxy, *selves, bx.hsic1_scale(), by.hsic1_scale()])
    return totals / n_batches


def minibatch_cka(x: Tensor, y: Tensor, *, batch_size: int) -> Tensor:
    """Minibatch linear CKA (Nguyen et al. 2021): a ratio of batch-averaged HSIC_1 values."""
    hxy, hxx, hyy, scale_x, scale_y = _batch_terms(x, y, batch_size, varying=True)
    check_self_hsic(hxx, scale_x, "x", batch_size)
    check_self_hsic(hyy, scale_y, "y", batch_size)
    return hxy / (hxx.sqrt() * hyy.sqrt())
