"""Weight updates ΔW of one module: LoRA's scaled low-rank product, or a full fine-tuning diff."""

from __future__ import annotations

import math

from torch import Tensor

from loralens.sparsity._checks import (
    SparsityInputError,
    as_matrix,
    check_finite_number,
    check_positive_int,
    check_rank_fits,
    check_same_shape,
)


def lora_scaling(alpha: float, rank: int, use_rslora: bool = False) -> float:
    """PEFT's LoRA scaling factor: α/r, or α/√r for rank-stabilised LoRA."""
    alpha = check_finite_number(alpha, "alpha")
    rank = check_positive_int(rank, "rank")
    return alpha / math.sqrt(rank) if use_rslora else alpha / rank


def lora_delta(
    lora_A: Tensor,
    lora_B: Tensor,
    alpha: float,
    rank: int,
    use_rslora: bool = False,
    *,
    name: str = "lora",
) -> Tensor:
    """ΔW = scaling · B · A of one LoRA module, in float64."""
    a = as_matrix(lora_A, f"{name}: lora_A")  # (r, d_in)
    b = as_matrix(lora_B, f"{name}: lora_B")  # (d_out, r)
    rank = check_positive_int(rank, f"{name}: rank")
    if a.shape[0] != rank or b.shape[1] != rank:
        raise SparsityInputError(
            f"{name}: rank {rank} does not match lora_A {tuple(a.shape)} (expected (r, d_in)) "
            f"and lora_B {tuple(b.shape)} (expected (d_out, r))"
        )
    check_rank_fits(rank, (b.shape[0], a.shape[1]), name)
    return lora_scaling(alpha, rank, use_rslora) * (b @ a)  # (d_out, d_in)


def full_delta(w_ft: Tensor, w_base: Tensor, *, name: str = "weight") -> Tensor:
    """ΔW = W_ft − W_base of one module, in float64."""
    ft = as_matrix(w_ft, f"{name}: fine-tuned weight")  # (d_out, d_in)
    base = as_matrix(w_base, f"{name}: base weight")  # (d_out, d_in)
    check_same_shape(ft, base, f"{name}: fine-tuned weight", "base weight")
    return ft - base  # (d_out, d_in)
