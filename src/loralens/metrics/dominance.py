"""A massive-activation diagnostic: how much of a representation one direction or coordinate holds.

An attention sink (a huge activation on the first token) leaks into mean-pooled rows as one
coordinate proportional to 1/length; CKA of such a layer measures that coordinate and little
else. These shares let tables flag the layers where one component holds most of what linear CKA
weighs: CKA compares Gram matrices, whose squared Frobenius norm is Σλ² over the covariance's
eigenvalues λ, so a direction counts by λ², not λ (its share of the variance).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor

from loralens.metrics._checks import centre64, check_matrix

DOMINATED_SHARE = 0.5  # one principal component above this share of CKA's weight (λ₁²/Σλ²): flagged


def dominated(row: Mapping[str, Any]) -> bool:
    """Whether a drift or control row's top component holds more than DOMINATED_SHARE of what
    CKA weighs (a row without the diagnostic: no)."""
    return (row.get("top_pc_cka_share") or 0.0) > DOMINATED_SHARE


@dataclass(frozen=True)
class Dominance:
    """Shares of the centred variance in the top principal component and the top coordinate."""

    top_pc_share: float  # λ₁ / Σλ, the variance share
    top_pc_cka_share: float  # λ₁² / Σλ², the share of what linear CKA weighs (the flag)
    top_coord_share: float
    top_coord: int
    length_corr: float | None  # Pearson r of the top coordinate with 1/length (None: no lengths)

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)


def dominance(x: Tensor, lengths: Tensor | None = None) -> Dominance:
    """The diagnostic of an (n, d) representation; `lengths` (n,) are the inputs' token counts."""
    xc = centre64(check_matrix(x, "x", min_rows=2))  # (n, d)
    col_var = xc.square().sum(0)  # (d,)
    total = float(col_var.sum())
    if total <= 0:
        return Dominance(math.nan, math.nan, math.nan, -1, None)
    n, d = xc.shape
    gram = xc @ xc.T if n <= d else xc.T @ xc  # the smaller of XXᵀ and XᵀX: same eigenvalues
    eig = torch.linalg.eigvalsh(gram).clamp_min(0)  # ascending
    top_pc = float(eig[-1])
    cka_share = float(eig[-1].square() / eig.square().sum())
    top = int(col_var.argmax())
    corr = None
    if lengths is not None:
        inv = 1.0 / lengths.to(torch.float64)  # (n,)
        inv = inv - inv.mean()
        denom = float(torch.linalg.vector_norm(inv) * torch.linalg.vector_norm(xc[:, top]))
        corr = float(inv @ xc[:, top]) / denom if denom > 0 else None
    return Dominance(top_pc / total, cka_share, float(col_var[top]) / total, top, corr)
