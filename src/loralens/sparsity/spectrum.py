"""Spectral statistics of a weight update: spectrum, effective/stable/energy/numerical rank.

Every statistic is computed in float64 from `torch.linalg.svdvals`. A zero matrix has every rank
equal to 0 (its spectrum carries no direction), so an untrained LoRA adapter (B = 0) summarises
to zeros rather than raising.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from loralens.sparsity._checks import (
    SparsityInputError,
    as_matrix,
    check_positive_int,
    check_rank_fits,
)

# Slack on cumulative-energy comparisons, so that e.g. 9 equal singular values out of 10 count
# as holding 90% despite rounding in the cumulative sum.
ENERGY_TOL = 1e-12


def singular_values(w: Tensor, *, name: str = "matrix") -> Tensor:
    """Singular values of `w` in descending order, float64."""
    return torch.linalg.svdvals(as_matrix(w, name))  # (min(d_out, d_in),)


def effective_rank(w: Tensor) -> float:
    """Effective rank (Roy & Vetterli 2007): exp of the entropy of σ / Σσ."""
    return _effective_rank(singular_values(w))


def stable_rank(w: Tensor) -> float:
    """Stable rank ‖W‖²_F / ‖W‖²_2."""
    return _stable_rank(singular_values(w))


def energy_rank(w: Tensor, threshold: float = 0.9) -> int:
    """Smallest k whose top-k singular values hold `threshold` of the energy Σσ²."""
    return _energy_rank(singular_values(w), threshold)


def numerical_rank(w: Tensor, rtol: float | None = None) -> int:
    """Number of singular values above rtol·σ_max (default rtol: max(d_out, d_in)·eps64)."""
    s = singular_values(w)
    return _numerical_rank(s, _default_rtol(w.shape) if rtol is None else rtol)


def rank_utilisation(w: Tensor, lora_rank: int) -> float:
    """Effective rank of a LoRA update divided by its rank r."""
    m = as_matrix(w, "matrix")  # (d_out, d_in)
    lora_rank = check_positive_int(lora_rank, "lora_rank")
    check_rank_fits(lora_rank, tuple(m.shape), "rank_utilisation")
    return _effective_rank(torch.linalg.svdvals(m)) / lora_rank


@dataclass(frozen=True)
class SpectrumSummary:
    """Spectral statistics of one weight update ΔW; ratios to r only for LoRA updates."""

    shape: tuple[int, int]
    singular_values: tuple[float, ...]  # descending, min(d_out, d_in) values
    frobenius_norm: float
    spectral_norm: float
    effective_rank: float
    stable_rank: float
    energy_rank_90: int
    energy_rank_99: int
    numerical_rank: int
    lora_rank: int | None = None
    rank_utilisation: float | None = None  # effective_rank / r
    energy_rank_90_utilisation: float | None = None  # energy_rank_90 / r
    energy_rank_99_utilisation: float | None = None  # energy_rank_99 / r

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        out = dataclasses.asdict(self)
        out["shape"] = list(self.shape)
        out["singular_values"] = list(self.singular_values)
        return out


def summarize_delta(
    delta: Tensor, lora_rank: int | None = None, *, rtol: float | None = None, name: str = "delta"
) -> SpectrumSummary:
    """Spectral statistics of ΔW, with rank utilisation when `lora_rank` is given."""
    w = as_matrix(delta, name)  # (d_out, d_in)
    if lora_rank is not None:
        lora_rank = check_positive_int(lora_rank, f"{name}: lora_rank")
        check_rank_fits(lora_rank, tuple(w.shape), name)
    s = torch.linalg.svdvals(w)  # (min(d_out, d_in),)
    erank = _effective_rank(s)
    e90, e99 = _energy_rank(s, 0.9), _energy_rank(s, 0.99)
    ratios: dict[str, float | None] = {
        "rank_utilisation": None,
        "energy_rank_90_utilisation": None,
        "energy_rank_99_utilisation": None,
    }
    if lora_rank is not None:
        ratios = {
            "rank_utilisation": erank / lora_rank,
            "energy_rank_90_utilisation": e90 / lora_rank,
            "energy_rank_99_utilisation": e99 / lora_rank,
        }
    return SpectrumSummary(
        shape=(w.shape[0], w.shape[1]),
        singular_values=tuple(s.tolist()),
        frobenius_norm=float(torch.sqrt((s**2).sum())),
        spectral_norm=float(s[0]),
        effective_rank=erank,
        stable_rank=_stable_rank(s),
        energy_rank_90=e90,
        energy_rank_99=e99,
        numerical_rank=_numerical_rank(s, _default_rtol(w.shape) if rtol is None else rtol),
        lora_rank=lora_rank,
        **ratios,
    )


def _effective_rank(s: Tensor) -> float:
    """exp(H(p)), p = σ / Σσ, with 0·log 0 = 0; 0 for a zero spectrum."""
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s[s > 0] / total
    return float(torch.exp(-(p * torch.log(p)).sum()))


def _stable_rank(s: Tensor) -> float:
    """Σσ² / σ_max²; 0 for a zero spectrum."""
    if s[0] <= 0:
        return 0.0
    return float((s**2).sum() / s[0] ** 2)


def _energy_rank(s: Tensor, threshold: float) -> int:
    """Smallest k with Σ_{i≤k} σ_i² ≥ threshold · Σσ²; 0 for a zero spectrum."""
    if not 0.0 < threshold <= 1.0:
        raise SparsityInputError(f"energy threshold must be in (0, 1], got {threshold!r}")
    energy = s**2
    total = energy.sum()
    if total <= 0:
        return 0
    cumulative = torch.cumsum(energy, dim=0) / total
    reached = cumulative >= threshold - ENERGY_TOL
    return int(torch.nonzero(reached)[0, 0]) + 1


def _numerical_rank(s: Tensor, rtol: float) -> int:
    """Count of σ > rtol · σ_max."""
    if not rtol >= 0.0:
        raise SparsityInputError(f"rtol must be ≥ 0, got {rtol!r}")
    if s[0] <= 0:
        return 0
    return int((s > rtol * s[0]).sum())


def _default_rtol(shape: torch.Size | tuple[int, ...]) -> float:
    """NumPy's matrix_rank tolerance for float64: max(d_out, d_in) · machine epsilon."""
    return max(shape) * torch.finfo(torch.float64).eps
