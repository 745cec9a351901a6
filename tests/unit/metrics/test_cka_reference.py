"""Cached-reference CKA (`prepare_reference`, `cka_against`, `cka_drift`) against pair CKA."""

from __future__ import annotations

import pytest
import torch

from loralens.metrics import (
    MetricInputError,
    cka_against,
    cka_drift,
    hsic,
    linear_cka,
    prepare_reference,
)


def _rand(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("ref_form", ["auto", "feature", "gram"])
@pytest.mark.parametrize(("n", "d_x", "d_y"), [(40, 10, 10), (16, 40, 40), (30, 10, 50)])
def test_against_reference_equals_pair_cka(
    debiased: bool, ref_form: str, n: int, d_x: int, d_y: int
) -> None:
    x = _rand(0, n, d_x) + 50.0
    y = x @ _rand(1, d_x, d_y) + _rand(2, n, d_y)
    ref = prepare_reference(x, form=ref_form)
    expected = float(linear_cka(x, y, debiased=debiased))
    assert float(cka_against(ref, y, debiased=debiased)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("n", "d", "keeps_gram"), [(40, 10, False), (10, 40, True)])
def test_reference_caches_centred_data_and_gram_by_shape(n: int, d: int, keeps_gram: bool) -> None:
    x = (_rand(3, n, d) + 100.0).float()
    ref = prepare_reference(x)
    # float32 input: centred with a float64 mean, kept in float32 for float32 products
    assert ref.centred.dtype == torch.float32 and ref.centred.shape == (n, d)
    assert float(ref.centred.double().mean(dim=0).abs().max()) < 1e-6
    assert prepare_reference(x.double()).centred.dtype == torch.float64
    assert (ref.gram is not None) == keeps_gram
    assert (ref.n, ref.d) == (n, d)


@pytest.mark.parametrize("form", ["feature", "gram"])
@pytest.mark.parametrize("debiased", [False, True])
def test_reference_self_hsic_matches_hsic(form: str, debiased: bool) -> None:
    x = _rand(4, 20, 15)
    ref = prepare_reference(x, form=form)
    expected = float(hsic(x, x, debiased=debiased))
    assert float(ref.hsic(debiased=debiased)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("debiased", [False, True])
def test_drift_over_layers_matches_pairwise(debiased: bool) -> None:
    base = [_rand(10 + i, 32, 24) * (i + 1) for i in range(4)]
    tuned = [b + 0.3 * (i + 1) * _rand(20 + i, 32, 24) for i, b in enumerate(base)]
    refs = [prepare_reference(b) for b in base]
    drift = cka_drift(refs, tuned, debiased=debiased)
    assert drift.shape == (4,) and drift.dtype == torch.float64
    expected = [
        float(linear_cka(b, t, debiased=debiased)) for b, t in zip(base, tuned, strict=True)
    ]
    assert drift.tolist() == pytest.approx(expected, abs=1e-12)
    # The same references serve the next snapshot unchanged.
    assert cka_drift(refs, base).tolist() == pytest.approx([1.0] * 4, abs=1e-12)


def test_drift_rejects_mismatched_layer_counts() -> None:
    refs = [prepare_reference(_rand(30, 8, 4))]
    with pytest.raises(MetricInputError, match="one entry per layer: got 1 and 2"):
        cka_drift(refs, [_rand(31, 8, 4), _rand(32, 8, 4)])
    with pytest.raises(MetricInputError, match="empty"):
        cka_drift([], [])


def test_against_rejects_rows_that_do_not_match_the_reference() -> None:
    ref = prepare_reference(_rand(33, 8, 4), name="base")
    with pytest.raises(MetricInputError, match=r"base and y .* \(8, 4\) and \(9, 4\)"):
        cka_against(ref, _rand(34, 9, 4))
