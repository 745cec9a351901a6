"""Inference for debiased linear CKA from Gram matrices: exact leave-one-out values (for the
jackknife) and the permutation null of one pair, each in O(n²) once the Grams exist.

HSIC_1 (Song et al. 2012) of Gram matrices K, L with zeroed diagonals K̃, L̃:
    HSIC_1 = [T + sK·sL/((n-1)(n-2)) - 2/(n-2)·Q] / (n(n-3)),
    T = Σ K̃∘L̃,  sK = 1ᵀK̃1,  sL = 1ᵀL̃1,  Q = 1ᵀK̃L̃1 = uᵀv with u = K̃1, v = L̃1.
HSIC_1 of the linear kernel is translation invariant, so Grams of data centred once (on all n
rows) are valid for every subset of rows. Leaving row i out (m = n - 1 rows):
    T_i = T - 2w_i (w = (K̃∘L̃)1),  sK_i = sK - 2u_i,
    Q_i = uᵀv - (K̃v)_i - (L̃u)_i + w_i - u_i·v_i.
Permuting the rows of Y by π replaces L̃ by L̃[π][:, π]: T and Q change, sL and the self-terms
do not.

Why a jackknife and not a bootstrap: resampling rows with replacement duplicates examples, and
duplicated rows inflate CKA. The coverage of the jackknife interval of debiased CKA is checked by
simulation against the exact population CKA of Gaussian data (tests/unit/metrics).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from loralens.metrics._checks import MetricInputError, centre64, check_matrix, check_pair
from loralens.metrics.cka import MIN_ROWS_DEBIASED

PERMUTATION_CHUNK = 4_000_000  # float64 entries of permuted Gram matrices per batch


@dataclass(frozen=True)
class GramTerms:
    """The zero-diagonal Gram matrix of one centred representation and its row sums."""

    k: Tensor  # (n, n) float64, K̃ = XXᵀ with zeroed diagonal
    u: Tensor  # (n,) K̃1
    s: Tensor  # () 1ᵀK̃1

    @property
    def n(self) -> int:
        """Number of rows."""
        return self.k.shape[0]


def gram_terms(x: Tensor, name: str = "x") -> GramTerms:
    """K̃ = XXᵀ (X column-centred in float64) with zeroed diagonal, its row sums and total."""
    x = check_matrix(x, name, min_rows=MIN_ROWS_DEBIASED + 1, varying=True)
    xc = centre64(x)  # (n, d)
    k = xc @ xc.T  # (n, n)
    k.fill_diagonal_(0.0)
    u = k.sum(1)  # (n,)
    return GramTerms(k, u, u.sum())


def _hsic1(t: Tensor, sk: Tensor, sl: Tensor, q: Tensor, n: int) -> Tensor:
    """HSIC_1 from its four terms (any shape, broadcast)."""
    return (t + sk * sl / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * q) / (n * (n - 3))


def hsic1(a: GramTerms, b: GramTerms) -> Tensor:
    """Debiased HSIC of two representations of the same n rows, from their Gram terms."""
    return _hsic1((a.k * b.k).sum(), a.s, b.s, a.u @ b.u, a.n)


def hsic1_leave_one_out(a: GramTerms, b: GramTerms) -> Tensor:
    """HSIC_1 of the n subsets that leave one row out, exactly: shape (n,)."""
    w = (a.k * b.k).sum(1)  # (n,)
    t = w.sum() - 2 * w
    q = a.u @ b.u - a.k @ b.u - b.k @ a.u + w - a.u * b.u
    return _hsic1(t, a.s - 2 * a.u, b.s - 2 * b.u, q, a.n - 1)


def debiased_cka_leave_one_out(a: GramTerms, b: GramTerms) -> Tensor:
    """Debiased CKA of each leave-one-row-out subset: shape (n,), NaN where undefined."""
    xy = hsic1_leave_one_out(a, b)
    xx, yy = hsic1_leave_one_out(a, a), hsic1_leave_one_out(b, b)
    ok = (xx > 0) & (yy > 0)
    return torch.where(ok, xy / (xx.clamp_min(1e-300) * yy.clamp_min(1e-300)).sqrt(), torch.nan)


@dataclass(frozen=True)
class CKAInterval:
    """Debiased CKA with its delete-one jackknife interval (normal approximation)."""

    estimate: float
    low: float
    high: float
    se: float
    confidence_level: float


def debiased_cka_interval(
    x: Tensor, y: Tensor, confidence_level: float = 0.95, grams: tuple | None = None
) -> CKAInterval:
    """Debiased CKA of x and y and its jackknife interval (estimate ± z·SE over rows)."""
    a, b = grams if grams is not None else (gram_terms(x, "x"), gram_terms(y, "y"))
    check_pair(a.k, b.k, ("x", "y"))
    xx, yy = hsic1(a, a), hsic1(b, b)
    if float(xx) <= 0 or float(yy) <= 0:
        raise MetricInputError("debiased self-HSIC is not positive: debiased CKA is undefined")
    estimate = float(hsic1(a, b) / (xx * yy).sqrt())
    loo = debiased_cka_leave_one_out(a, b).numpy()  # (n,)
    n = loo.size
    if not np.isfinite(loo).all():
        nan = float("nan")
        return CKAInterval(estimate, nan, nan, nan, confidence_level)
    se = float(np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2)))
    z = float(stats.norm.ppf(0.5 + confidence_level / 2))
    return CKAInterval(estimate, estimate - z * se, estimate + z * se, se, confidence_level)


def permutation_null(
    a: GramTerms, b: GramTerms, n_perm: int = 100, generator: torch.Generator | None = None
) -> Tensor:
    """Debiased CKA of x against y with its rows shuffled, `n_perm` times: shape (n_perm,).

    The shuffled cross terms are summed in float32 (a null near 0 needs no more precision).
    """
    scale = (hsic1(a, a) * hsic1(b, b)).sqrt()
    k32, l32 = a.k.float(), b.k.float()
    perms = torch.stack([torch.randperm(a.n, generator=generator) for _ in range(n_perm)])
    out = []
    chunk = max(1, PERMUTATION_CHUNK // (a.n * a.n))  # permuted Grams held at once
    for idx in perms.split(chunk):  # (c, n)
        rows = l32[idx]  # (c, n, n): rows of L̃ in shuffled order (contiguous copies)
        lp = torch.gather(rows, 2, idx[:, None, :].expand(-1, a.n, -1))  # L̃[π][:, π]
        t = (lp * k32).sum((1, 2), dtype=torch.float64)  # (c,)
        out.append(_hsic1(t, a.s, b.s, b.u[idx] @ a.u, a.n) / scale)
    return torch.cat(out) if out else torch.empty(0, dtype=torch.float64)


def population_cka(cov_xx: Tensor, cov_yy: Tensor, cov_xy: Tensor) -> float:
    """Linear CKA of the population: ‖Σxy‖²_F / (‖Σxx‖_F ‖Σyy‖_F)."""
    num = torch.linalg.matrix_norm(cov_xy) ** 2
    return float(num / (torch.linalg.matrix_norm(cov_xx) * torch.linalg.matrix_norm(cov_yy)))
