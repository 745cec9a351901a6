"""Straightforward NumPy formulations, written literally from the papers, to check loralens against.

They are deliberately naive (explicit n×n centring matrix, explicit diagonal removal) and share no
code with `loralens.metrics`.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import orthogonal_procrustes


def _f64(a: object) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def centring_matrix(n: int) -> np.ndarray:
    """H = I - 11ᵀ/n."""
    return np.eye(n) - np.ones((n, n)) / n


def hsic0(x: object, y: object) -> float:
    """Gretton et al.'s biased HSIC with linear kernels: tr(K H L H) / (n-1)²."""
    x, y = _f64(x), _f64(y)
    n = x.shape[0]
    h = centring_matrix(n)
    k, l_ = x @ x.T, y @ y.T
    return float(np.trace(k @ h @ l_ @ h)) / (n - 1) ** 2


def kornblith_cka(x: object, y: object) -> float:
    """Kornblith et al. (2019): HSIC(K, L) / √(HSIC(K, K) · HSIC(L, L)) with explicit H."""
    return hsic0(x, y) / np.sqrt(hsic0(x, x) * hsic0(y, y))


def song_hsic1(x: object, y: object) -> float:
    """Song et al. (2012) unbiased HSIC, literally, on the *uncentred* linear Gram matrices."""
    x, y = _f64(x), _f64(y)
    n = x.shape[0]
    k_t, l_t = x @ x.T, y @ y.T
    np.fill_diagonal(k_t, 0.0)
    np.fill_diagonal(l_t, 0.0)
    one = np.ones(n)
    term1 = np.trace(k_t @ l_t)
    term2 = (one @ k_t @ one) * (one @ l_t @ one) / ((n - 1) * (n - 2))
    term3 = 2.0 / (n - 2) * (one @ k_t @ l_t @ one)
    return float(term1 + term2 - term3) / (n * (n - 3))


def song_cka(x: object, y: object) -> float:
    """Debiased CKA: HSIC_1(X, Y) / √(HSIC_1(X, X) · HSIC_1(Y, Y))."""
    return song_hsic1(x, y) / np.sqrt(song_hsic1(x, x) * song_hsic1(y, y))


def published_bug_cka(x: object, y: object) -> float:
    """The reference study's formula: ‖YᵀX‖²_F / (tr(XᵀX) · tr(YᵀY)) on centred data."""
    x, y = _f64(x), _f64(y)
    x, y = x - x.mean(0), y - y.mean(0)
    return float(np.sum((y.T @ x) ** 2) / (np.trace(x.T @ x) * np.trace(y.T @ y)))


def cosine_rows(x: object, y: object, centred: bool = False) -> np.ndarray:
    """Row-wise cosine similarity, one loop iteration per example."""
    x, y = _f64(x), _f64(y)
    if centred:
        x, y = x - x.mean(0), y - y.mean(0)
    return np.array(
        [a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) for a, b in zip(x, y, strict=True)]
    )


def procrustes_residual(x: object, y: object) -> float:
    """min_Q ‖X̂ - ŶQ‖²_F over orthogonal Q (SciPy's solver), X̂, Ŷ centred and unit-norm."""
    x, y = _f64(x), _f64(y)
    x, y = x - x.mean(0), y - y.mean(0)
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    q, _ = orthogonal_procrustes(y, x)
    return float(np.sum((x - y @ q) ** 2))


def llm_like(rng: np.random.Generator, n: int, d: int, n_outliers: int = 3) -> np.ndarray:
    """Activations with a mean offset of about 100 and a few outlier columns scaled ×50."""
    x = rng.normal(size=(n, d)) + 100.0 + 5.0 * rng.normal(size=d)
    x[:, rng.choice(d, size=min(n_outliers, d), replace=False)] *= 50.0
    return x
