"""ΔW construction for one module: LoRA (plain, rsLoRA), AdaLoRA, full fine-tuning."""

from __future__ import annotations

import math

import pytest
import torch

from loralens.sparsity import (
    SparsityInputError,
    adalora_delta,
    full_delta,
    lora_delta,
    lora_scaling,
)


def _ab(r: int, d_out: int = 10, d_in: int = 7, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(r, d_in, generator=g), torch.randn(d_out, r, generator=g)


def test_lora_delta_is_scaled_product() -> None:
    a, b = _ab(3)
    expected = (16 / 3) * (b.double() @ a.double())
    delta = lora_delta(a, b, alpha=16, rank=3)
    assert delta.dtype == torch.float64 and delta.shape == (10, 7)
    torch.testing.assert_close(delta, expected)


def test_rslora_scales_by_square_root_of_rank() -> None:
    a, b = _ab(4)
    torch.testing.assert_close(
        lora_delta(a, b, alpha=8, rank=4, use_rslora=True),
        lora_delta(a, b, alpha=8, rank=4) * math.sqrt(4),
    )
    assert lora_scaling(8, 4, use_rslora=True) == 4.0
    assert lora_scaling(8, 4) == 2.0


def test_lora_delta_accepts_bfloat16() -> None:
    a, b = _ab(2)
    delta = lora_delta(a.bfloat16(), b.bfloat16(), alpha=2, rank=2)
    expected = b.bfloat16().double() @ a.bfloat16().double()
    assert delta.dtype == torch.float64
    torch.testing.assert_close(delta, expected)


def test_full_delta() -> None:
    w = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
    ft = w + 0.25
    delta = full_delta(ft, w)
    assert delta.dtype == torch.float64
    torch.testing.assert_close(delta, ft.double() - w.double())


def test_adalora_delta_formula() -> None:
    a, b = _ab(3)
    e = torch.tensor([[2.0], [0.0], [-1.0]])
    expected = b.double() @ torch.diag(e.double().flatten()) @ a.double() * 5 / (6 + 1e-5)
    torch.testing.assert_close(adalora_delta(a, b, e, alpha=5, init_r=6), expected)
    # a module pruned to rank 0 has ΔW = 0
    zero = adalora_delta(torch.ones(0, 7), torch.ones(10, 0), torch.ones(0, 1), alpha=5, init_r=6)
    assert zero.shape == (10, 7) and not zero.any()


BAD_LORA = {  # (lora_A shape, lora_B shape, rank, expected message)
    "rank above min(d_out, d_in)": (
        (5, 4),
        (6, 5),
        5,
        r"q_proj: rank 5 exceeds min\(d_out, d_in\) = 4",
    ),
    "rank disagrees with A": ((3, 7), (10, 3), 2, r"q_proj: rank 2 does not match lora_A \(3, 7\)"),
    "A and B disagree": ((3, 7), (10, 4), 3, r"lora_B \(10, 4\)"),
    "rank zero": ((3, 7), (10, 3), 0, "integer ≥ 1"),
    "3-D factor": (
        (3, 7, 1),
        (10, 3),
        3,
        r"q_proj: lora_A: expected a 2-D matrix, got shape \(3, 7, 1\)",
    ),
}


@pytest.mark.parametrize("case", BAD_LORA)
def test_bad_lora_factors_are_rejected(case: str) -> None:
    a_shape, b_shape, rank, message = BAD_LORA[case]
    with pytest.raises(SparsityInputError, match=message):
        lora_delta(torch.ones(a_shape), torch.ones(b_shape), alpha=1, rank=rank, name="q_proj")


def test_bad_alpha_and_full_delta_inputs_are_rejected() -> None:
    a, b = _ab(2)
    with pytest.raises(SparsityInputError, match="alpha"):
        lora_delta(a, b, alpha=float("nan"), rank=2)
    with pytest.raises(SparsityInputError, match=r"o_proj.*\(5, 3\).*\(3, 5\)"):
        full_delta(torch.ones(5, 3), torch.ones(3, 5), name="o_proj")
    with pytest.raises(SparsityInputError, match="o_proj: base weight: 1 NaN/inf"):
        full_delta(torch.ones(2, 2), torch.tensor([[1.0, float("inf")], [0, 0]]), name="o_proj")
