"""Symmetric products zᵀz computed block by block, upper triangle only (about 60% of a GEMM).

torch has no SYRK: `z.T @ z` costs a full GEMM although half of its output mirrors the other
half. Splitting z's columns into p blocks and forming only the blocks i ≤ j costs (p + 1)/(2p)
of the GEMM flops; every Frobenius quantity of zᵀz follows, weighting off-diagonal blocks by 2.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from scipy.linalg import blas
from torch import Tensor

# Blocks narrower than this lose more to GEMM efficiency than they save in flops (measured on
# MKL, 1-2 threads: 3 blocks for 576 columns and 4 for 1000 were fastest).
MIN_BLOCK = 192
MAX_BLOCKS = 4


def frobenius_dot(a: Tensor, b: Tensor) -> Tensor:
    """⟨a, b⟩_F = Σ a_ij b_ij (copies b only if it is a non-contiguous view)."""
    return torch.dot(a.reshape(-1), b.reshape(-1))


def gram_blocks(z: Tensor) -> Iterator[tuple[slice, slice, Tensor, float]]:
    """Yield (rows, cols, block, weight) over the upper block triangle of zᵀz; weight 2 off it."""
    k = z.shape[1]
    p = min(MAX_BLOCKS, max(1, k // MIN_BLOCK))
    bounds = [round(i * k / p) for i in range(p + 1)]
    spans = [slice(bounds[i], bounds[i + 1]) for i in range(p)]
    for i, rows in enumerate(spans):
        for cols in spans[i:]:
            block = z[:, rows].T @ z[:, cols]  # (k_i, k_j)
            yield rows, cols, block, 1.0 if rows == cols else 2.0


def sq_norm_gram(z: Tensor) -> Tensor:
    """‖zᵀz‖²_F."""
    total = z.new_zeros(())
    for _, _, block, weight in gram_blocks(z):
        total += weight * frobenius_dot(block, block)
    return total


def sq_norm_gram_and_dot(z: Tensor, partner: Tensor) -> tuple[Tensor, Tensor]:
    """‖zᵀz‖²_F and ⟨zᵀz, partner⟩_F for a symmetric `partner` of zᵀz's shape."""
    sq, dot = z.new_zeros(()), z.new_zeros(())
    for rows, cols, block, weight in gram_blocks(z):
        sq += weight * frobenius_dot(block, block)
        dot += weight * frobenius_dot(block, partner[rows, cols])
    return sq, dot


def full_gram(z: Tensor) -> Tensor:
    """zᵀz, assembled from the upper block triangle and its mirror."""
    k = z.shape[1]
    out = z.new_empty(k, k)
    for rows, cols, block, weight in gram_blocks(z):
        out[rows, cols] = block
        if weight == 2.0:
            out[cols, rows] = block.T
    return out


# --- float32 products with float64 sums (CPU, float32 inputs) -----------------------------------
#
# For inputs that carry float32 precision, products are taken in float32 on data centred with a
# float64 mean, through BLAS syrk (one triangle, half a GEMM's flops), and every sum over the
# products' entries is taken in float64. The diagonals of XᵀX and XᵀY are sums of same-signed
# terms whose float32 accumulation error dominates the feature form's error (≈2e-7 in CKA on
# LLM-like data), so they are recomputed in float64 at O(n·d): the error drops to ≈1e-10.


def centre32(x: Tensor) -> Tensor:
    """Column-centre `x` (float32 or narrower) with a float64 mean, rounding once to float32."""
    x = x.to(torch.float32)
    # (d,) accumulated in float64; NumPy casts element by element, torch would copy (~4× slower)
    mean = torch.from_numpy(np.add.reduce(x.numpy(), axis=0, dtype=np.float64)).div_(x.shape[0])
    head = mean.to(torch.float32)  # (d,)
    tail = (mean - head.to(torch.float64)).to(torch.float32)  # (d,) what the float32 mean lacks
    # x - head is exact for entries near the mean (Sterbenz); subtracting the tail rounds once.
    return x.sub(head).sub_(tail).contiguous()  # (n, d)


def syrk32(z: Tensor, *, rows: bool) -> Tensor:
    """One triangle of zzᵀ (if `rows`, (n, n)) or zᵀz ((d, d)) via BLAS ssyrk, 0 elsewhere."""
    a = z.numpy()  # (n, d) C-contiguous; a.T is its Fortran-ordered (d, n) view, not a copy
    out = blas.ssyrk(1.0, a.T, trans=1 if rows else 0)  # Fortran-ordered
    return torch.from_numpy(out.T)  # C-ordered view of the same triangle


def col_dot64(a: Tensor, b: Tensor) -> Tensor:
    """Σ_i a_ik b_ik per column k of CPU tensors, products and sums in float64, shape (d,)."""
    # NumPy's einsum casts element by element; torch's would copy both to float64 (~10× slower).
    return torch.from_numpy(np.einsum("ik,ik->k", a.numpy(), b.numpy(), dtype=np.float64))


def row_sq64(a: Tensor) -> Tensor:
    """Σ_k a_ik² per row i of a CPU tensor, in float64, shape (n,)."""
    return torch.from_numpy(np.einsum("ik,ik->i", a.numpy(), a.numpy(), dtype=np.float64))


def sym_dot64(s: Tensor, t: Tensor, s_diag: Tensor, t_diag: Tensor) -> Tensor:
    """⟨S, T⟩_F of symmetric S, T given by one (same) triangle each and float64 diagonals."""
    s64, t64 = s.to(torch.float64), t.to(torch.float64)
    off = frobenius_dot(s64, t64) - torch.dot(torch.diagonal(s64), torch.diagonal(t64))
    return 2.0 * off + torch.dot(s_diag, t_diag)


def sym_sq_norm64(s: Tensor, diag: Tensor) -> Tensor:
    """‖S‖²_F of a symmetric S given by one triangle, with its diagonal replaced by `diag`."""
    s64 = s.to(torch.float64)
    off = frobenius_dot(s64, s64) - torch.linalg.vector_norm(torch.diagonal(s64)).square()
    return 2.0 * off + frobenius_dot(diag, diag)


def cross_sq_norm64(p: Tensor, diag: Tensor | None) -> Tensor:
    """‖P‖²_F of a float32 product, summed in float64, its diagonal replaced by `diag` if given."""
    p64 = p.to(torch.float64)
    total = frobenius_dot(p64, p64)
    if diag is None:
        return total
    return (
        total - torch.linalg.vector_norm(torch.diagonal(p64)).square() + frobenius_dot(diag, diag)
    )
