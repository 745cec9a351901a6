"""Orthogonal Procrustes distance: known answers, invariances, SciPy's solver, wide inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from loralens.metrics import procrustes_distance

from ._numpy_reference import procrustes_residual


def _rand(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _orthogonal(seed: int, d: int) -> torch.Tensor:
    return torch.linalg.qr(_rand(seed, d, d)).Q


def test_identical_inputs_give_zero() -> None:
    x = _rand(0, 30, 8) + 5.0
    assert float(procrustes_distance(x, x)) == pytest.approx(0.0, abs=1e-12)
    assert procrustes_distance(x, x).dtype == torch.float64


@pytest.mark.parametrize(("n", "d"), [(30, 8), (8, 30)])
def test_invariant_to_orthogonal_maps_translation_and_scale(n: int, d: int) -> None:
    x = _rand(1, n, d)
    assert float(procrustes_distance(x, 4.0 * x @ _orthogonal(2, d) - 3.0)) == pytest.approx(
        0.0, abs=1e-12
    )
    y = _rand(3, n, d)
    base = float(procrustes_distance(x, y))
    moved = float(procrustes_distance(x @ _orthogonal(4, d) * 0.1, y @ _orthogonal(5, d) + 9.0))
    assert moved == pytest.approx(base, abs=1e-12)


def test_known_answers_one_column() -> None:
    x = torch.tensor([[1.0], [-1.0], [0.0], [0.0]])
    orthogonal = torch.tensor([[0.0], [0.0], [1.0], [-1.0]])
    assert float(procrustes_distance(x, orthogonal)) == pytest.approx(2.0, abs=1e-15)
    assert float(procrustes_distance(x, -x)) == pytest.approx(0.0, abs=1e-15)  # a reflection
    # One column: d = 2 - 2|cos θ| of the centred columns; here cos θ = 1/√2.
    halfway = torch.tensor([[1.0], [-1.0], [1.0], [-1.0]])
    assert float(procrustes_distance(x, halfway)) == pytest.approx(2 - np.sqrt(2), abs=1e-15)


@pytest.mark.parametrize(("n", "d"), [(40, 6), (12, 6)])
def test_matches_scipy_orthogonal_procrustes_residual(n: int, d: int) -> None:
    x, y = _rand(6, n, d) + 1.0, _rand(7, n, d) + 0.5 * _rand(6, n, d)
    expected = procrustes_residual(x.numpy(), y.numpy())
    assert float(procrustes_distance(x, y)) == pytest.approx(expected, abs=1e-12)


def test_wide_inputs_reduced_by_qr_match_the_direct_nuclear_norm() -> None:
    x, y = _rand(8, 10, 50), _rand(9, 10, 70)
    xc, yc = x - x.mean(0), y - y.mean(0)
    xc, yc = xc / xc.norm(), yc / yc.norm()
    direct = 2.0 - 2.0 * float(torch.linalg.matrix_norm(xc.T @ yc, ord="nuc"))
    assert float(procrustes_distance(x, y)) == pytest.approx(direct, abs=1e-12)
