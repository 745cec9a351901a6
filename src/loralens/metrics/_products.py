"""Symmetric products zᵀz computed block by block, upper triangle only (about 60% of a GEMM).

torch has no SYRK: `z.T @ z` costs a full GEMM although half of its output mirrors the other
half. Splitting z's columns into p blocks and forming only the blocks i ≤ j costs (p + 1)/(2p)
of the GEMM flops; every Frobenius quantity of zᵀz follows, weighting off-diagonal blocks by 2.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
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
