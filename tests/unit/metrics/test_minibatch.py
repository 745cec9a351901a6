"""Minibatch CKA (Nguyen et al. 2021): a ratio of averaged HSIC_1, not an average of ratios."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from loralens.metrics import MetricInputError, linear_cka, minibatch_cka, minibatch_hsic

from ._numpy_reference import song_cka, song_hsic1


def _pair(seed: int, n: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64) + 20.0
    y = x @ torch.randn(d, d, generator=g, dtype=torch.float64) + 3.0 * torch.randn(
        n, d, generator=g, dtype=torch.float64
    )
    return x, y


def test_ratio_of_averaged_hsic_matches_literal_formula_not_mean_of_ratios() -> None:
    x, y = _pair(0, 40, 6)
    xs, ys = np.split(x.numpy(), 4), np.split(y.numpy(), 4)
    hxy = np.mean([song_hsic1(a, b) for a, b in zip(xs, ys, strict=True)])
    hxx = np.mean([song_hsic1(a, a) for a in xs])
    hyy = np.mean([song_hsic1(b, b) for b in ys])
    ratio = hxy / np.sqrt(hxx * hyy)
    mean_of_ratios = np.mean([song_cka(a, b) for a, b in zip(xs, ys, strict=True)])
    got = float(minibatch_cka(x, y, batch_size=10))
    assert got == pytest.approx(ratio, abs=1e-10)
    assert abs(got - mean_of_ratios) > 1e-4
    terms = [float(t) for t in minibatch_hsic(x, y, batch_size=10)]
    assert terms == pytest.approx([hxy, hxx, hyy], rel=1e-9)


def test_one_batch_equals_full_debiased_cka() -> None:
    x, y = _pair(1, 50, 8)
    full = float(linear_cka(x, y, debiased=True))
    assert float(minibatch_cka(x, y, batch_size=50)) == pytest.approx(full, abs=1e-12)
    # 50 // 30 = 1 batch: the leftover rows join it rather than being dropped.
    assert float(minibatch_cka(x, y, batch_size=30)) == pytest.approx(full, abs=1e-12)


def test_close_across_batch_sizes_on_large_n() -> None:
    x, y = _pair(2, 4096, 16)
    full = float(linear_cka(x, y, debiased=True))
    values = [float(minibatch_cka(x, y, batch_size=b)) for b in (32, 128, 512, 4096)]
    assert max(values) - min(values) < 0.02
    assert values == pytest.approx([full] * len(values), abs=0.02)


def _literal_minibatch_cka(x: torch.Tensor, y: torch.Tensor, n_batches: int) -> float:
    xs, ys = np.split(x.numpy(), n_batches), np.split(y.numpy(), n_batches)
    hxy = np.mean([song_hsic1(a, b) for a, b in zip(xs, ys, strict=True)])
    hxx = np.mean([song_hsic1(a, a) for a in xs])
    hyy = np.mean([song_hsic1(b, b) for b in ys])
    return float(hxy / np.sqrt(hxx * hyy))


def test_wide_batches_use_the_gram_form_and_agree() -> None:
    x, y = _pair(3, 64, 40)  # batches of 16 rows, 40 features: Gram form inside each batch
    # The literal formula on uncentred data (offset 20) loses ~1e-10 to cancellation; loralens
    # centres first and matched a 50-digit evaluation of the same formula to 1e-16.
    expected = _literal_minibatch_cka(x, y, 4)
    assert float(minibatch_cka(x, y, batch_size=16)) == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize(
    ("batch_size", "match"),
    [(3, r"batch_size: expected an integer ≥ 4, got 3"), (2.5, "batch_size"), (41, "exceeds")],
)
def test_bad_batch_size_raises(batch_size: object, match: str) -> None:
    x, y = _pair(4, 40, 4)
    with pytest.raises(MetricInputError, match=match):
        minibatch_cka(x, y, batch_size=batch_size)  # type: ignore[arg-type]


def test_constant_input_raises_but_a_constant_batch_is_allowed() -> None:
    x, y = _pair(5, 40, 4)
    with pytest.raises(MetricInputError, match="zero variance"):
        minibatch_cka(torch.ones(40, 4), y, batch_size=10)
    x[:10] = 1.0  # the first batch is constant; HSIC_1 of that batch is 0, the whole is fine
    expected = _literal_minibatch_cka(x, y, 4)
    assert float(minibatch_cka(x, y, batch_size=10)) == pytest.approx(expected, abs=1e-8)
