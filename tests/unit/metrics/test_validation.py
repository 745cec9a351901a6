"""Every metric rejects unusable input with a MetricInputError naming the problem and shapes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from loralens.errors import LoralensError
from loralens.metrics import (
    MetricInputError,
    cka_against,
    hsic,
    linear_cka,
    minibatch_cka,
    per_example_cosine,
    prepare_reference,
    procrustes_distance,
)

Metric = Callable[[torch.Tensor, torch.Tensor], object]

METRICS: dict[str, Metric] = {
    "cka": lambda x, y: linear_cka(x, y),
    "cka_debiased": lambda x, y: linear_cka(x, y, debiased=True),
    "cka_gram": lambda x, y: linear_cka(x, y, form="gram"),
    "hsic": lambda x, y: hsic(x, y),
    "against": lambda x, y: cka_against(prepare_reference(x), y),
    "against_debiased": lambda x, y: cka_against(prepare_reference(x), y, debiased=True),
    "minibatch": lambda x, y: minibatch_cka(x, y, batch_size=4),
    "cosine": lambda x, y: per_example_cosine(x, y),
    "procrustes": lambda x, y: procrustes_distance(x, y),
}


def _good(n: int = 8, d: int = 3) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(n * 100 + d))


def _with(value: float) -> torch.Tensor:
    x = _good()
    x[2, 1] = value
    return x


BAD_PAIRS: dict[str, tuple[torch.Tensor, torch.Tensor, str]] = {
    "row_mismatch": (_good(8), _good(9), r"same number of rows.*\(8, 3\) and \(9, 3\)"),
    "nan": (_with(float("nan")), _good(), r"1 NaN and 0 infinite values \(shape \(8, 3\)\)"),
    "inf": (_good(), _with(float("inf")), r"y: contains 0 NaN and 1 infinite"),
    "one_d": (torch.rand(8), _good(), r"2-D matrix .* got shape \(8,\)"),
    "three_d": (_good(), torch.rand(8, 3, 2), r"y: expected a 2-D matrix .*\(8, 3, 2\)"),
    "no_columns": (torch.empty(8, 0), _good(), r"no feature columns \(shape \(8, 0\)\)"),
    "complex": (_good().to(torch.complex64), _good(), "expected real numbers"),
    "not_tensor": ([[1.0, 2.0]] * 8, _good(), "expected a torch.Tensor, got list"),
}


@pytest.mark.parametrize("metric", list(METRICS))
@pytest.mark.parametrize("case", list(BAD_PAIRS))
def test_bad_input_raises_metric_input_error(metric: str, case: str) -> None:
    x, y, match = BAD_PAIRS[case]
    with pytest.raises(MetricInputError, match=match):
        METRICS[metric](x, y)


ZERO_VARIANCE = ["cka", "cka_debiased", "cka_gram", "against", "minibatch", "procrustes"]


@pytest.mark.parametrize("metric", ZERO_VARIANCE)
@pytest.mark.parametrize("constant_first", [True, False])
def test_zero_variance_raises(metric: str, constant_first: bool) -> None:
    constant = torch.full((8, 3), 0.1, dtype=torch.float64)  # 0.1 is inexact in binary
    x, y = (constant, _good()) if constant_first else (_good(), constant)
    name = "x" if constant_first else "y"
    with pytest.raises(MetricInputError, match=rf"{name}: has zero variance .*\(8, 3\)"):
        METRICS[metric](x, y)


@pytest.mark.parametrize("metric", ["cka_debiased", "against_debiased"])
def test_debiased_needs_four_rows(metric: str) -> None:
    with pytest.raises(MetricInputError, match=r"at least 4 rows .* got 3 \(shape \(3, 3\)\)"):
        METRICS[metric](_good(3), _good(3))


def test_biased_needs_two_rows_and_works_with_three() -> None:
    with pytest.raises(MetricInputError, match="at least 2 rows"):
        linear_cka(_good(1), _good(1))
    assert 0.0 <= float(linear_cka(_good(3), _good(3, 5))) <= 1.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_degenerate_debiased_self_hsic_raises(dtype: torch.dtype) -> None:
    # All rows but one identical: HSIC_1(X, X) is exactly 0 and debiased CKA is 0/0.
    x = _good(1, 6).repeat(7, 1).to(dtype)
    x[3] += 100.0
    assert float(linear_cka(x, _good(7), debiased=False)) >= 0.0  # the biased one is defined
    for metric in ("cka_debiased", "against_debiased", "minibatch"):
        with pytest.raises(MetricInputError, match=r"x: its debiased self-HSIC is .*zero up to"):
            METRICS[metric](x, _good(7))


def test_unknown_form_raises() -> None:
    with pytest.raises(MetricInputError, match=r"form: expected one of .* got 'svd'"):
        linear_cka(_good(), _good(), form="svd")  # type: ignore[arg-type]


def test_error_is_a_value_error_and_a_loralens_error() -> None:
    assert issubclass(MetricInputError, ValueError)
    assert issubclass(MetricInputError, LoralensError)
