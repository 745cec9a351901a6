"""Orthogonal Procrustes distance between two representations (Ding et al. 2021).

Definition used here. Centre each matrix's columns and scale it to unit Frobenius norm:
X̂ = Xc / ‖Xc‖_F, Ŷ = Yc / ‖Yc‖_F (rows are examples). Then

    d_Proc(X, Y) = min_{Q orthogonal} ‖X̂ - ŶQ‖²_F = ‖X̂‖²_F + ‖Ŷ‖²_F - 2‖X̂ᵀŶ‖_* = 2 - 2‖X̂ᵀŶ‖_*,

with ‖·‖_* the nuclear norm (sum of singular values); when the widths differ, Q ranges over
d_y×d_x matrices with orthonormal rows or columns (zero-padding the narrower matrix). It lies in
[0, 2]: 0 if and only if Y is an orthogonal map of X up to translation and scale, 2 when the
centred column spaces are orthogonal. It is invariant to translation, isotropic scaling and
orthogonal maps of either input. (Williams et al.'s angular form is arccos(‖X̂ᵀŶ‖_*).)
"""

from __future__ import annotations

import torch
from torch import Tensor

from loralens.metrics._checks import centre64, check_matrix, check_pair


def _thin(z: Tensor) -> Tensor:
    """A matrix of at most n columns with the same Gram matrix ZZᵀ, hence the same ‖Zᵀ·‖_*."""
    n, d = z.shape
    if d <= n:
        return z  # (n, d)
    # Zᵀ = QR, Q (d, n) with orthonormal columns: ZᵀY = Q(RY), so ‖ZᵀY‖_* = ‖RY‖_*.
    r = torch.linalg.qr(z.T, mode="r").R  # (n, n)
    return r.T  # (n, n)


def procrustes_distance(x: Tensor, y: Tensor) -> Tensor:
    """Orthogonal Procrustes distance 2 - 2‖X̂ᵀŶ‖_* of centred, unit-norm x and y, in [0, 2]."""
    x = check_matrix(x, "x", min_rows=2, varying=True)
    y = check_matrix(y, "y", min_rows=2, varying=True)
    check_pair(x, y)
    xc = centre64(x)  # (n, d_x)
    yc = centre64(y)  # (n, d_y)
    xn = _thin(xc / torch.linalg.vector_norm(xc))  # (n, min(n, d_x))
    yn = _thin(yc / torch.linalg.vector_norm(yc))  # (n, min(n, d_y))
    nuclear = torch.linalg.svdvals(xn.T @ yn).sum()
    # ‖X̂ᵀŶ‖_* ≤ ‖X̂‖_F‖Ŷ‖_F = 1, so only rounding can leave [0, 2].
    return (2.0 - 2.0 * nuclear).clamp(0.0, 2.0)
