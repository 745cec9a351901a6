"""Intruder dimensions (Shuttleworth et al. 2024, "LoRA vs Full Fine-tuning: An Illusion of
Equivalence"): top singular vectors of W_ft = W_base + ΔW unlike every singular vector of W_base.

A top-k left singular vector of W_ft is an intruder at threshold ε if its largest absolute cosine
similarity to *all* left singular vectors of W_base is below ε. We compare against the reduced
SVD of W_base (its min(d_out, d_in) singular vectors): for a tall W_base the completion to a full
basis of R^d_out is arbitrary, so comparing against it would make the count depend on the solver.
Singular vectors of repeated singular values are defined only up to rotation, so a W_base with a
degenerate top spectrum can show spurious intruders (trained weights rarely have one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import Tensor

from loralens.sparsity._checks import (
    SparsityInputError,
    as_matrix,
    check_positive_int,
    check_same_shape,
)

DEFAULT_K = 10
DEFAULT_EPSILONS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def max_base_similarity(
    w_base: Tensor, w_ft: Tensor, k: int = DEFAULT_K, *, name: str = "weight"
) -> Tensor:
    """Max |cos| of each top-k left singular vector of w_ft to those of w_base, shape (k,)."""
    base = as_matrix(w_base, f"{name}: base weight")  # (d_out, d_in)
    ft = as_matrix(w_ft, f"{name}: fine-tuned weight")  # (d_out, d_in)
    check_same_shape(ft, base, f"{name}: fine-tuned weight", "base weight")
    k = check_positive_int(k, f"{name}: k")
    if k > min(base.shape):
        raise SparsityInputError(
            f"{name}: k={k} exceeds the {min(base.shape)} singular vectors of a "
            f"{base.shape[0]}×{base.shape[1]} matrix"
        )
    u_base = torch.linalg.svd(base, full_matrices=False).U  # (d_out, m), m = min(d_out, d_in)
    u_ft = torch.linalg.svd(ft, full_matrices=False).U[:, :k]  # (d_out, k)
    cosines = (u_base.T @ u_ft).abs()  # (m, k); unit columns, so dot products are cosines
    return cosines.amax(dim=0)  # (k,)


def intruder_dimensions(
    w_base: Tensor,
    w_ft: Tensor,
    k: int = DEFAULT_K,
    epsilons: Iterable[float] = DEFAULT_EPSILONS,
    *,
    name: str = "weight",
) -> dict[float, int]:
    """Number of intruders among the top-k singular vectors of w_ft, per threshold ε."""
    eps = _check_epsilons(epsilons)
    similarity = max_base_similarity(w_base, w_ft, k, name=name)  # (k,)
    return {e: int((similarity < e).sum()) for e in eps}


def chance_intruders(
    shape: tuple[int, int],
    k: int = DEFAULT_K,
    epsilons: Iterable[float] = DEFAULT_EPSILONS,
    *,
    draws: int = 4000,
    seed: int = 0,
) -> dict[float, float]:
    """Expected intruders among k random directions of R^d_out, per ε: the chance level.

    Were the fine-tuned top-k singular vectors uniformly random unit vectors, their cosines to
    the base's m = min(d_out, d_in) orthonormal singular vectors would be distributed as the
    first m coordinates of a random unit vector (rotation invariance), so the count depends on
    the matrix's shape: a 192-row v_proj and a 576-row q_proj have different chance levels.
    """
    eps = _check_epsilons(epsilons)
    d_out, d_in = (check_positive_int(n, "shape") for n in shape)
    m = min(d_out, d_in)
    gen = torch.Generator().manual_seed(seed)
    g = torch.randn(draws, d_out, generator=gen, dtype=torch.float64)  # (draws, d_out)
    top = g[:, :m].abs().amax(dim=1) / g.norm(dim=1)  # (draws,) max |cos| to the base basis
    return {e: float(k * (top < e).double().mean()) for e in eps}


def intruder_dimensions_by_layer(
    base_weights: Mapping[str, Tensor],
    deltas: Mapping[str, Tensor],
    k: int = DEFAULT_K,
    epsilons: Iterable[float] = DEFAULT_EPSILONS,
) -> dict[str, dict[float, int]]:
    """Intruder counts per module for W_ft = W_base + ΔW, keyed like `deltas`."""
    eps = _check_epsilons(epsilons)
    counts: dict[str, dict[float, int]] = {}
    for module, delta in deltas.items():
        base = as_matrix(_lookup_base(base_weights, module), f"{module}: base weight")
        d = as_matrix(delta, f"{module}: delta")
        check_same_shape(d, base, f"{module}: delta", "base weight")
        counts[module] = intruder_dimensions(base, base + d, k, eps, name=module)
    return counts


def _lookup_base(base_weights: Mapping[str, Tensor], module: str) -> Tensor:
    """Base weight of `module`, keyed either by module name or by `<module>.weight`."""
    for key in (module, f"{module}.weight"):
        if key in base_weights:
            return base_weights[key]
    raise SparsityInputError(
        f"{module}: no base weight under '{module}' or '{module}.weight' "
        f"({len(base_weights)} base weights given)"
    )


def _check_epsilons(epsilons: Iterable[float]) -> tuple[float, ...]:
    """Thresholds as floats, each in (0, 1], at least one."""
    eps = tuple(float(e) for e in epsilons)
    if not eps or any(not 0.0 < e <= 1.0 for e in eps):
        raise SparsityInputError(f"epsilons must be a non-empty set of values in (0, 1], got {eps}")
    return eps
