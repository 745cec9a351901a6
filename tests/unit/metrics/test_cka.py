"""Linear CKA and HSIC: known answers, invariances, forms, precision, and literal references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from loralens.metrics import hsic, linear_cka
from loralens.metrics.cka import resolve_form

from ._numpy_reference import (
    hsic0,
    kornblith_cka,
    llm_like,
    published_bug_cka,
    song_cka,
    song_hsic1,
)

ESTIMATORS = [False, True]
FORMS = ["feature", "gram", "auto"]
# (n, d_x, d_y): tall (feature form), wide (Gram form), and mixed widths.
SHAPES = [(60, 8, 12), (12, 40, 30), (30, 10, 50)]


def _rand(seed: int, *shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _related(seed: int, n: int, d_x: int, d_y: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x with a mean offset, and y a noisy linear function of x: CKA well inside (0, 1)."""
    x = _rand(seed, n, d_x) + 3.0
    y = x @ _rand(seed + 1, d_x, d_y) + 2.0 * _rand(seed + 2, n, d_y) - 1.0
    return x, y


def _orthogonal(seed: int, d: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(_rand(seed, d, d))
    return q


@pytest.mark.parametrize("debiased", ESTIMATORS)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("n", "d"), [(50, 10), (10, 50)])
def test_self_similarity_is_one_float64(debiased: bool, form: str, n: int, d: int) -> None:
    x = _rand(0, n, d) * 4.0 + 7.0
    assert float(linear_cka(x, x, debiased=debiased, form=form)) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("debiased", ESTIMATORS)
def test_self_similarity_is_one_float32_llm_like(debiased: bool) -> None:
    x = torch.tensor(llm_like(np.random.default_rng(0), 200, 64), dtype=torch.float32)
    assert float(linear_cka(x, x, debiased=debiased)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("debiased", ESTIMATORS)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_copy_of_the_same_numbers_reads_exactly_one(debiased, form, dtype) -> None:
    # A run's step-0 snapshot is the base's bytes in another tensor: drift there is exactly 0,
    # whichever BLAS kernels compute a cross term and a self-term (they round differently).
    x = _rand(0, 40, 8, dtype=dtype) + 5.0
    assert float(linear_cka(x, x.clone(), debiased=debiased, form=form)) == 1.0
    y = x.clone()
    y[0, 0] = torch.nextafter(y[0, 0], torch.tensor(10.0, dtype=dtype))  # one ulp apart
    assert float(linear_cka(x, y, debiased=debiased, form=form)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(("n", "d_x", "d_y"), SHAPES)
@pytest.mark.parametrize("form", FORMS)
def test_biased_matches_kornblith_formula(n: int, d_x: int, d_y: int, form: str) -> None:
    x, y = _related(1, n, d_x, d_y)
    expected = kornblith_cka(x.numpy(), y.numpy())
    assert float(linear_cka(x, y, form=form)) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize(("n", "d_x", "d_y"), SHAPES)
@pytest.mark.parametrize("form", FORMS)
def test_debiased_matches_song_formula(n: int, d_x: int, d_y: int, form: str) -> None:
    x, y = _related(2, n, d_x, d_y)
    expected = song_cka(x.numpy(), y.numpy())
    assert float(linear_cka(x, y, debiased=True, form=form)) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize(("n", "d_x", "d_y"), SHAPES)
@pytest.mark.parametrize("form", ["feature", "gram"])
def test_hsic_matches_literal_formulas(n: int, d_x: int, d_y: int, form: str) -> None:
    x, y = _related(3, n, d_x, d_y)
    h0, h1 = hsic0(x.numpy(), y.numpy()), song_hsic1(x.numpy(), y.numpy())
    assert float(hsic(x, y, form=form)) == pytest.approx(h0, rel=1e-10)
    assert float(hsic(x, y, debiased=True, form=form)) == pytest.approx(h1, rel=1e-9)


@pytest.mark.parametrize("debiased", ESTIMATORS)
@pytest.mark.parametrize(("n", "d_x", "d_y"), SHAPES)
def test_feature_and_gram_forms_agree(debiased: bool, n: int, d_x: int, d_y: int) -> None:
    x, y = _related(4, n, d_x, d_y)
    feature = linear_cka(x, y, debiased=debiased, form="feature")
    gram = linear_cka(x, y, debiased=debiased, form="gram")
    assert float(feature) == pytest.approx(float(gram), abs=1e-12)


def test_auto_form_follows_shape() -> None:
    assert resolve_form("auto", n=100, d_x=50, d_y=80) == "feature"
    assert resolve_form("auto", n=100, d_x=150, d_y=150) == "gram"
    assert resolve_form("auto", n=100, d_x=50, d_y=150) == "gram"
    assert resolve_form("feature", n=100, d_x=150, d_y=150) == "feature"


@pytest.mark.parametrize("debiased", ESTIMATORS)
@pytest.mark.parametrize(("n", "d"), [(40, 12), (12, 40)])
def test_invariant_to_orthogonal_maps_scaling_and_translation(
    debiased: bool, n: int, d: int
) -> None:
    x, y = _related(5, n, d, d)
    base = float(linear_cka(x, y, debiased=debiased))
    x2 = 3.7 * x @ _orthogonal(6, d) - 11.0
    y2 = 0.02 * y @ _orthogonal(7, d) + 5.0
    assert float(linear_cka(x2, y2, debiased=debiased)) == pytest.approx(base, abs=1e-10)


@pytest.mark.parametrize("debiased", ESTIMATORS)
def test_not_invariant_to_general_invertible_map(debiased: bool) -> None:
    x = _rand(8, 200, 10)
    stretch = torch.diag(torch.logspace(0, 2, 10, dtype=torch.float64))  # condition number 100
    a = _orthogonal(9, 10) @ stretch @ _orthogonal(10, 10)
    assert torch.linalg.matrix_rank(a) == 10
    assert float(linear_cka(x, x @ a, debiased=debiased)) < 0.8


def test_debiased_is_near_zero_for_independent_data_where_biased_is_not() -> None:
    # n = 20 examples, d = 50 features: the biased estimator sees structure that is not there.
    biased, debiased = [], []
    for seed in range(20):
        x, y = _rand(100 + seed, 20, 50), _rand(200 + seed, 20, 50)
        biased.append(float(linear_cka(x, y)))
        debiased.append(float(linear_cka(x, y, debiased=True)))
    assert min(biased) > 0.5
    assert abs(np.mean(debiased)) < 0.06  # ~3 standard errors at this n
    assert max(abs(v) for v in debiased) < 0.35


@pytest.mark.parametrize("debiased", ESTIMATORS)
@pytest.mark.parametrize(("n", "d"), [(600, 64), (64, 300)])
def test_float32_llm_like_within_1e6_of_float64_reference(debiased: bool, n: int, d: int) -> None:
    rng = np.random.default_rng(11)
    x32 = torch.tensor(llm_like(rng, n, d), dtype=torch.float32)
    y32 = x32 + torch.tensor(rng.normal(size=(n, d)) * 3.0, dtype=torch.float32)
    x64, y64 = x32.double().numpy(), y32.double().numpy()
    reference = song_cka(x64, y64) if debiased else kornblith_cka(x64, y64)
    assert float(linear_cka(x32, y32, debiased=debiased)) == pytest.approx(reference, abs=1e-6)


def test_naive_float32_gram_centring_is_not_within_1e6() -> None:
    # Documents why centring comes first: the same data, Gram formed and centred in float32.
    rng = np.random.default_rng(11)
    x32 = torch.tensor(llm_like(rng, 600, 64), dtype=torch.float32)
    y32 = x32 + torch.tensor(rng.normal(size=(600, 64)) * 3.0, dtype=torch.float32)
    h = torch.eye(600) - 1.0 / 600
    k, l_ = x32 @ x32.T, y32 @ y32.T

    def hsic32(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.trace(a @ h @ b @ h)

    naive = float(hsic32(k, l_) / torch.sqrt(hsic32(k, k) * hsic32(l_, l_)))
    reference = kornblith_cka(x32.double().numpy(), y32.double().numpy())
    assert abs(naive - reference) > 1e-5
    assert float(linear_cka(x32, y32)) == pytest.approx(reference, abs=1e-6)


def test_published_trace_normalisation_bug_is_not_repeated() -> None:
    # The reference study divided by tr(XᵀX)·tr(YᵀY) instead of ‖XᵀX‖_F·‖YᵀY‖_F: a matrix
    # compared with itself scored far below 1. loralens scores it exactly 1.
    x = _rand(12, 100, 20)
    assert published_bug_cka(x.numpy(), x.numpy()) < 0.2
    assert float(linear_cka(x, x)) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("debiased", ESTIMATORS)
def test_symmetric_and_returns_float64_scalar_on_input_device(debiased: bool) -> None:
    x, y = _related(13, 30, 6, 9)
    xy, yx = linear_cka(x, y, debiased=debiased), linear_cka(y, x, debiased=debiased)
    assert float(xy) == pytest.approx(float(yx), abs=1e-12)
    assert xy.shape == () and xy.dtype == torch.float64 and xy.device == x.device


def test_accepts_half_precision_and_integer_inputs() -> None:
    x = torch.arange(40, dtype=torch.int64).reshape(10, 4) ** 2
    y = x.to(torch.bfloat16)
    assert float(linear_cka(x, y)) == pytest.approx(1.0, abs=1e-3)
    assert float(linear_cka(x, x)) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("debiased", ESTIMATORS)
@pytest.mark.parametrize(("n", "d"), [(420, 400), (400, 420)])
def test_sizes_where_symmetric_products_are_blocked_match_references(
    debiased: bool, n: int, d: int
) -> None:
    # Blocking of XᵀX, YᵀY (feature form) or XXᵀ, YYᵀ (Gram form) starts at 384 columns/rows.
    x, y = _related(14, n, d, d)
    reference = song_cka if debiased else kornblith_cka
    expected = reference(x.numpy(), y.numpy())
    for form in ("feature", "gram"):
        got = float(linear_cka(x, y, debiased=debiased, form=form))
        assert got == pytest.approx(expected, abs=1e-9)
