"""The float32-product path (CPU float32 inputs): within 1e-6 of float64, planted effects hold."""

from __future__ import annotations

import pytest
import torch

from loralens.bench.cka import llm_like_activations, reference_cka
from loralens.metrics import cka_against, linear_cka, prepare_reference
from loralens.metrics._products import centre32
from loralens.metrics.cka import product_dtype


def _llm_pair(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = llm_like_activations(n, d, gen)  # (n, d) float32, offset ≈ 100, outliers ×50
    return x, x + 0.7 * torch.randn(x.shape, generator=gen)


def test_float32_inputs_take_float32_products_and_float64_inputs_do_not() -> None:
    x = torch.zeros(4, 3)
    assert product_dtype(x, x.half()) == torch.float32
    assert product_dtype(x, x.double()) == torch.float64
    assert product_dtype(x.long()) == torch.float64


def test_centre32_matches_float64_centring_to_float32_rounding() -> None:
    x, _ = _llm_pair(300, 40, 0)
    exact = x.double() - x.double().mean(dim=0)  # (n, d)
    got = centre32(x)
    assert got.dtype == torch.float32
    assert float(((got.double() - exact).abs() / exact.abs().clamp_min(1e-3)).max()) < 2.5e-7


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("form", ["feature", "gram"])
@pytest.mark.parametrize(("n", "d"), [(600, 96), (96, 600), (400, 400)])
def test_llm_like_within_1e6_of_float64_reference(
    debiased: bool, form: str, n: int, d: int
) -> None:
    x, y = _llm_pair(n, d, 1)
    expected = reference_cka(x, y, debiased)  # NumPy, float64 throughout
    got = float(linear_cka(x, y, debiased=debiased, form=form))
    assert got == pytest.approx(expected, abs=1e-6)
    ref = prepare_reference(x, form=form)
    assert float(cka_against(ref, y, debiased=debiased, form=form)) == pytest.approx(
        expected, abs=1e-6
    )


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize(("n", "d"), [(300, 48), (48, 300)])
def test_planted_effects_hold_with_float32_products(debiased: bool, n: int, d: int) -> None:
    gen = torch.Generator().manual_seed(2)
    x = llm_like_activations(n, d, gen)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64))
    rotated = ((x.double() - x.double().mean(0)) @ q).float()  # (n, d)
    assert float(linear_cka(x, x, debiased=debiased)) == pytest.approx(1.0, abs=1e-6)
    assert float(linear_cka(x, rotated, debiased=debiased)) == pytest.approx(1.0, abs=1e-6)
    noise = torch.randn(n, d, generator=gen)  # independent of x
    value = float(linear_cka(torch.randn(n, d, generator=gen), noise, debiased=True))
    assert abs(value) < 0.05


def test_mixed_widths_fall_back_to_float64() -> None:
    x, y = _llm_pair(200, 30, 3)
    ref = prepare_reference(x)  # float32 cache
    expected = reference_cka(x, y, True)
    assert float(cka_against(ref, y.double(), debiased=True)) == pytest.approx(expected, abs=1e-9)
    assert float(linear_cka(x, y.double(), debiased=True)) == pytest.approx(expected, abs=1e-9)
