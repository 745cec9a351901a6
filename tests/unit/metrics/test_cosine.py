"""Per-example cosine similarity, raw and centred."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from loralens.metrics import MetricInputError, per_example_cosine

from ._numpy_reference import cosine_rows


def test_known_answers_raw() -> None:
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    y = torch.tensor([[0.0, 3.0], [0.0, 2.0], [1.0, -1.0], [-1.0, 0.0]])
    got = per_example_cosine(x, y)
    assert got.shape == (4,) and got.dtype == torch.float64
    assert got.tolist() == pytest.approx([0.0, 1.0, 0.0, -1.0], abs=1e-15)


def test_known_answers_centred() -> None:
    # Column means: x → (1, 1), y → (10, 10); centred rows are ±(1, 0) and ±(0, 1).
    x = torch.tensor([[2.0, 1.0], [0.0, 1.0], [1.0, 2.0], [1.0, 0.0]])
    y = torch.tensor([[11.0, 10.0], [10.0, 11.0], [10.0, 9.0], [9.0, 10.0]])
    assert per_example_cosine(x, y, centred=True).tolist() == pytest.approx(
        [1.0, 0.0, -1.0, 0.0], abs=1e-15
    )


def test_offset_hides_differences_until_centred() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(100, 32, generator=g, dtype=torch.float64) + 100.0
    y = torch.randn(100, 32, generator=g, dtype=torch.float64) + 100.0  # unrelated rows
    assert float(per_example_cosine(x, y).min()) > 0.99
    assert float(per_example_cosine(x, y, centred=True).abs().mean()) < 0.3


@pytest.mark.parametrize("centred", [False, True])
def test_matches_row_loop_and_is_scale_invariant_per_row(centred: bool) -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20, 7)) + 2.0, rng.normal(size=(20, 7))
    got = per_example_cosine(torch.tensor(x), torch.tensor(y), centred=centred)
    assert got.tolist() == pytest.approx(cosine_rows(x, y, centred).tolist(), abs=1e-14)
    scaled = per_example_cosine(torch.tensor(x), torch.tensor(y * 7.5), centred=centred)
    assert scaled.tolist() == pytest.approx(got.tolist(), abs=1e-14)


def test_float32_input_identical_rows_give_one() -> None:
    x = (torch.randn(50, 16, generator=torch.Generator().manual_seed(2)) + 100.0).float()
    ones = torch.ones(50, dtype=torch.float64)
    assert torch.allclose(per_example_cosine(x, x), ones, atol=1e-12)
    assert torch.allclose(per_example_cosine(x, x.clone(), centred=True), ones, atol=1e-12)


def test_zero_rows_and_width_mismatch_raise() -> None:
    x = torch.ones(6, 3)
    x[2] = 0.0
    with pytest.raises(MetricInputError, match=r"x: rows 2 have zero norm \(shape \(6, 3\)\)"):
        per_example_cosine(x, torch.ones(6, 3))
    with pytest.raises(MetricInputError, match="zero norm after centring"):
        per_example_cosine(torch.ones(6, 3), torch.rand(6, 3), centred=True)
    with pytest.raises(MetricInputError, match=r"same number of features.*\(6, 3\) and \(6, 4\)"):
        per_example_cosine(torch.rand(6, 3), torch.rand(6, 4))
