"""Linear CKA, biased (HSIC_0) and debiased (HSIC_1), in feature-space or Gram form.

Conventions. X (n, d_x) and Y (n, d_y) hold one example per row. Both are cast to float64 and
column-centred *before* any product is formed: LLM activations carry a mean offset orders of
magnitude above their spread, and centring a Gram matrix after the fact cancels that offset
catastrophically in float32.

With centred X, Y, K = XXᵀ and L = YYᵀ:

- HSIC_0(X, Y) = tr(KHLH) / (n-1)² = ‖YᵀX‖²_F / (n-1)²   (Gretton et al. 2005; H = I - 11ᵀ/n)
- CKA_0(X, Y)  = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)           (Kornblith et al. 2019)
- HSIC_1(X, Y) = [tr(K̃L̃) + 1ᵀK̃1·1ᵀL̃1/((n-1)(n-2)) - 2/(n-2)·1ᵀK̃L̃1] / (n(n-3))
  with K̃, L̃ the Gram matrices with zeroed diagonals (Song et al. 2012). HSIC_1 with the linear
  kernel is translation invariant, so it may be evaluated on centred data, where the column sums
  vanish. With a = diag(K), b = diag(L) (squared row norms):
      tr(K̃L̃) = ‖XᵀY‖²_F - aᵀb,   1ᵀK̃1 = -tr(XᵀX),   1ᵀK̃L̃1 = (K̃1)ᵀ(L̃1) = aᵀb,
  hence the feature-space form used here, O(n·d_x·d_y):
      HSIC_1 = [‖XᵀY‖²_F + tr(XᵀX)·tr(YᵀY)/((n-1)(n-2)) - n/(n-2)·aᵀb] / (n(n-3)).
- CKA_1(X, Y) = HSIC_1(X, Y) / √(HSIC_1(X, X)·HSIC_1(Y, Y)).

HSIC_1(X, X) is the average over distinct i, j, q, r of ((x_i - x_j)ᵀ(x_q - x_r))² / 4, so it is
never negative; it is zero (and debiased CKA undefined) only for degenerate data.

Only ‖XᵀY‖²_F (the cross term) and ‖XᵀX‖²_F, ‖YᵀY‖²_F (the self-terms) need matrix products.
The feature form takes them from d×d products (XᵀY, XᵀX, YᵀY), the Gram form from n×n ones
(⟨K, L⟩_F, ‖K‖²_F, ‖L‖²_F). `form="auto"` picks the Gram form when either matrix is wider than
it is tall (d > n), the feature form otherwise. A `CKAReference` caches the centred base and its
self-terms (and K in the Gram form), so CKA against it needs only XᵀY and YᵀY, or L = YYᵀ.

Precision follows the inputs. Float64 (or integer, or non-CPU) inputs are centred and multiplied
in float64, symmetric products block by block, upper triangle only. CPU inputs no wider than
float32 carry 2⁻²⁴ relative precision to begin with: they are centred with a float64 mean and
rounded once to float32, multiplied in float32 through BLAS syrk (one triangle), and every sum
over the products is taken in float64 (`_products`); measured within 1e-9 of the float64
reference on LLM-like data. Where the debiased self-HSIC of such data is small against its terms
(so float32 rounding could matter), the debiased CKA is recomputed in float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from loralens.metrics._checks import (
    MetricInputError,
    centre64,
    check_matrix,
    check_pair,
)
from loralens.metrics._products import (
    centre32,
    col_dot64,
    cross_sq_norm64,
    frobenius_dot,
    full_gram,
    row_sq64,
    sq_norm_gram,
    sq_norm_gram_and_dot,
    sym_dot64,
    sym_sq_norm64,
    syrk32,
)

Form = Literal["auto", "feature", "gram"]
FORMS = ("auto", "feature", "gram")
MIN_ROWS_BIASED = 2
MIN_ROWS_DEBIASED = 4
# A debiased self-HSIC below this fraction of its largest term, ‖XᵀX‖²_F / (n(n-3)), is rounding.
SELF_HSIC_RTOL = 1e-10
# Float32-product debiased CKA is recomputed in float64 when a self-HSIC is below this fraction
# of its scale: there the float32 rounding (≈1e-9 of the scale) would be amplified past 1e-7.
FLOAT32_SELF_HSIC_RTOL = 1e-2
NARROW = (torch.float32, torch.float16, torch.bfloat16)


@dataclass(frozen=True, eq=False)
class CKAReference:
    """One centred float64 representation and its cached self-terms, to compare many others to."""

    centred: Tensor  # (n, d) float64, or float32 centred with a float64 mean (see module doc)
    sq_norm: Tensor  # () ‖X‖²_F = tr(XᵀX) = tr(K)
    sq_norm_gram: Tensor  # () ‖XᵀX‖²_F = ‖XXᵀ‖²_F
    row_sq_norms: Tensor  # (n,) squared row norms, diag(K)
    gram: (
        Tensor | None
    )  # (n, n) K = XXᵀ (one triangle if from float32) for the Gram form, else None
    name: str = "x"

    @property
    def n(self) -> int:
        """Number of examples (rows)."""
        return self.centred.shape[0]

    @property
    def d(self) -> int:
        """Number of features (columns)."""
        return self.centred.shape[1]

    def hsic1_scale(self) -> Tensor:
        """Magnitude of the largest term of HSIC_1(X, X): ‖XᵀX‖²_F / (n(n-3))."""
        return self.sq_norm_gram / (self.n * (self.n - 3))

    def hsic(self, debiased: bool = False) -> Tensor:
        """HSIC of the representation with itself (HSIC_1 if `debiased`, else HSIC_0)."""
        if not debiased:
            return self.sq_norm_gram / (self.n - 1) ** 2
        return hsic1_from_terms(
            self.sq_norm_gram,
            self.sq_norm,
            self.sq_norm,
            frobenius_dot(self.row_sq_norms, self.row_sq_norms),
            self.n,
        )


def hsic1_from_terms(cross: Tensor, tr_x: Tensor, tr_y: Tensor, ab: Tensor, n: int) -> Tensor:
    """Song et al.'s unbiased HSIC from ‖XᵀY‖²_F, tr(XᵀX), tr(YᵀY), aᵀb of centred data."""
    if n < MIN_ROWS_DEBIASED:
        raise MetricInputError(f"the debiased estimator needs at least 4 rows, got n={n}")
    # The column sums of the centred data are zero up to rounding (≈ n·2⁻⁵³ of the data's
    # scale); the terms they would add are of second order in that rounding and are dropped.
    total = cross + tr_x * tr_y / ((n - 1) * (n - 2)) - (n / (n - 2)) * ab
    return total / (n * (n - 3))


def resolve_form(form: str, n: int, d_x: int, d_y: int) -> Literal["feature", "gram"]:
    """Return the form to use: Gram when either matrix is wider than tall, unless forced."""
    if form not in FORMS:
        raise MetricInputError(f"form: expected one of {FORMS}, got {form!r}")
    if form == "auto":
        return "gram" if max(d_x, d_y) > n else "feature"
    return form  # type: ignore[return-value]


def product_dtype(*xs: Tensor) -> torch.dtype:
    """float32 if every input is a CPU tensor no wider than float32, else float64."""
    narrow = all(x.dtype in NARROW and x.device.type == "cpu" for x in xs)
    return torch.float32 if narrow else torch.float64


def centre(x: Tensor, dtype: torch.dtype) -> Tensor:
    """Column-centre `x` for products in `dtype` (float32: with a float64 mean, rounded once)."""
    return centre32(x) if dtype == torch.float32 else centre64(x)


def _summarise32(xc: Tensor, keep_gram: bool, name: str) -> CKAReference:
    """`summarise` for float32 `xc`: syrk in float32, sums in float64, exact diagonals."""
    row_sq = row_sq64(xc)  # (n,) = diag(K)
    if keep_gram:
        gram = syrk32(xc, rows=True).double()  # (n, n) one triangle, widened once
        sq_norm = sym_sq_norm64(gram, row_sq)
    else:
        gram = None
        sq_norm = sym_sq_norm64(syrk32(xc, rows=False), col_dot64(xc, xc))  # ‖XᵀX‖²_F
    return CKAReference(xc, row_sq.sum(), sq_norm, row_sq, gram, name)


def _compare32(ref: CKAReference, yc: Tensor, form: str, name: str) -> tuple[CKAReference, Tensor]:
    """`compare` for float32 centred data: syrk/GEMM in float32, sums in float64."""
    row_sq = row_sq64(yc)  # (n,) = diag(L)
    if form == "gram":
        k = ref.gram if ref.gram is not None else syrk32(ref.centred, rows=True).double()
        l_ = syrk32(yc, rows=True).double()  # (n, n), the same triangle as k (n, n)
        sq_norm = sym_sq_norm64(l_, row_sq)
        cross = sym_dot64(k, l_, ref.row_sq_norms, row_sq)  # ⟨K, L⟩_F = ‖XᵀY‖²_F
    else:
        sq_norm = sym_sq_norm64(syrk32(yc, rows=False), col_dot64(yc, yc))  # ‖YᵀY‖²_F
        xty = ref.centred.T @ yc  # (d_x, d_y) float32
        same = ref.d == yc.shape[1]
        cross = cross_sq_norm64(xty, col_dot64(ref.centred, yc) if same else None)
    return CKAReference(yc, row_sq.sum(), sq_norm, row_sq, None, name), cross


def same_data(x: Tensor, y: Tensor) -> bool:
    """Whether two centred representations are the same numbers (shape, dtype and values)."""
    return x is y or (x.shape == y.shape and x.dtype == y.dtype and torch.equal(x, y))


def summarise(xc: Tensor, *, keep_gram: bool, name: str = "x") -> CKAReference:
    """Cache the self-terms of the centred `xc`, keeping K = XXᵀ if `keep_gram`."""
    if xc.dtype == torch.float32:
        return _summarise32(xc, keep_gram, name)
    row_sq = torch.linalg.vector_norm(xc, dim=1).square()  # (n,)
    if keep_gram:
        gram = full_gram(xc.T)  # (n, n)
        sq_norm = frobenius_dot(gram, gram)  # ‖XXᵀ‖²_F
    else:
        gram = None
        sq_norm = sq_norm_gram(xc)  # ‖XᵀX‖²_F from (d, d) blocks
    return CKAReference(xc, row_sq.sum(), sq_norm, row_sq, gram, name)


def compare(
    ref: CKAReference, yc: Tensor, form: str, name: str = "y"
) -> tuple[CKAReference, Tensor]:
    """Self-terms of the centred `yc` (Gram not kept) and the cross term ‖XᵀY‖²_F."""
    if same_data(ref.centred, yc):
        # The reference's own data (a step-0 snapshot of a run that starts at the base): its
        # terms are the reference's, so CKA is exactly 1 whichever kernels BLAS picks (a GEMM
        # cross term and a syrk self-term round differently on some CPUs).
        return CKAReference(yc, ref.sq_norm, ref.sq_norm_gram, ref.row_sq_norms, None, name), (
            ref.sq_norm_gram
        )
    if yc.dtype == torch.float32:
        return _compare32(ref, yc, form, name)
    row_sq = torch.linalg.vector_norm(yc, dim=1).square()  # (n,)
    if form == "gram":
        k = ref.gram if ref.gram is not None else full_gram(ref.centred.T)  # (n, n)
        # L = YYᵀ block by block, never stored: ‖L‖²_F and ⟨K, L⟩_F = ‖XᵀY‖²_F.
        sq_norm, cross = sq_norm_gram_and_dot(yc.T, k)
    else:
        sq_norm = sq_norm_gram(yc)  # ‖YᵀY‖²_F
        xty = ref.centred.T @ yc  # (d_x, d_y)
        cross = frobenius_dot(xty, xty)
    return CKAReference(yc, row_sq.sum(), sq_norm, row_sq, None, name), cross


def cka_from_terms(ref: CKAReference, other: CKAReference, cross: Tensor, debiased: bool) -> Tensor:
    """CKA from a cross term and two summaries; raises where the debiased self-HSIC is ≤ 0."""
    # sqrt(a * b), not sqrt(a) * sqrt(b): for a == b it is a exactly, so equal data reads 1.
    if not debiased:
        return cross / (ref.sq_norm_gram * other.sq_norm_gram).sqrt()
    ab = frobenius_dot(ref.row_sq_norms, other.row_sq_norms)
    hsic_xy = hsic1_from_terms(cross, ref.sq_norm, other.sq_norm, ab, ref.n)
    hsic_xx, hsic_yy = ref.hsic(debiased=True), other.hsic(debiased=True)
    check_self_hsic(hsic_xx, ref.hsic1_scale(), ref.name, ref.n)
    check_self_hsic(hsic_yy, other.hsic1_scale(), other.name, other.n)
    return hsic_xy / (hsic_xx * hsic_yy).sqrt()


def check_self_hsic(value: Tensor, scale: Tensor, name: str, n: int) -> None:
    """Raise if a debiased self-HSIC is zero up to rounding, relative to its terms' `scale`."""
    # HSIC_1(X, X) is an average of squares ((x_i - x_j)ᵀ(x_q - x_r))² / 4 over distinct
    # i, j, q, r, so it is ≥ 0 and vanishes only for degenerate data (e.g. all rows but one
    # identical); there, rounding decides its sign and debiased CKA is 0/0.
    if float(value) <= SELF_HSIC_RTOL * float(scale):
        raise MetricInputError(
            f"{name}: its debiased self-HSIC is {float(value):.3g}, zero up to rounding at n={n} "
            "(the rows vary in too few ways, e.g. all rows but one are identical); "
            "debiased CKA is undefined"
        )


def _prepare(x: Tensor, name: str, keep_gram: bool, dtype: torch.dtype) -> CKAReference:
    return summarise(centre(x, dtype), keep_gram=keep_gram, name=name)


def _self_hsic_resolved(s: CKAReference) -> bool:
    """Whether the debiased self-HSIC stands clear of float32 rounding (FLOAT32_SELF_HSIC_RTOL)."""
    return float(s.hsic(debiased=True)) > FLOAT32_SELF_HSIC_RTOL * float(s.hsic1_scale())


def _widen(ref: CKAReference, form: str) -> CKAReference:
    """The float64 summary of a float32 reference, re-centred so its column sums vanish."""
    return summarise(centre64(ref.centred), keep_gram=form == "gram", name=ref.name)


def _cka(ref: CKAReference, yc: Tensor, form: str, debiased: bool) -> Tensor:
    """CKA of a summary and centred `yc`, redone in float64 if float32 cannot resolve it."""
    other, cross = compare(ref, yc, form)
    narrow = debiased and yc.dtype == torch.float32
    if narrow and not (_self_hsic_resolved(ref) and _self_hsic_resolved(other)):
        return _cka(_widen(ref, form), centre64(yc), form, debiased)
    return cka_from_terms(ref, other, cross, debiased)


def prepare_reference(x: Tensor, *, form: Form = "auto", name: str = "x") -> CKAReference:
    """Centre `x` in float64 and cache its self-terms (and K = XXᵀ in the Gram form)."""
    x = check_matrix(x, name, min_rows=MIN_ROWS_BIASED, varying=True)
    n, d = x.shape
    return _prepare(x, name, resolve_form(form, n, d, d) == "gram", product_dtype(x))


def cka_against(
    ref: CKAReference, y: Tensor, *, debiased: bool = False, form: Form = "auto"
) -> Tensor:
    """Linear CKA between a prepared reference and `y`, reusing the reference's self-terms."""
    min_rows = MIN_ROWS_DEBIASED if debiased else MIN_ROWS_BIASED
    y = check_matrix(y, "y", min_rows=min_rows, varying=True)
    check_pair(ref.centred, y, (ref.name, "y"))
    resolved = resolve_form(form, ref.n, ref.d, y.shape[1])
    if ref.centred.dtype == torch.float32 and product_dtype(y) == torch.float64:
        ref = _widen(ref, resolved)
    return _cka(ref, centre(y, ref.centred.dtype), resolved, debiased)


def cka_drift(
    refs: Sequence[CKAReference], ys: Sequence[Tensor], *, debiased: bool = False
) -> Tensor:
    """Layer-wise CKA of `ys[i]` against `refs[i]` (e.g. fine-tuned vs base), shape (n_layers,)."""
    if len(refs) != len(ys):
        raise MetricInputError(
            f"refs and ys must have one entry per layer: got {len(refs)} and {len(ys)}"
        )
    if not refs:
        raise MetricInputError("refs and ys are empty: no layer to compare")
    return torch.stack(
        [cka_against(r, y, debiased=debiased) for r, y in zip(refs, ys, strict=True)]
    )


def linear_cka(x: Tensor, y: Tensor, *, debiased: bool = False, form: Form = "auto") -> Tensor:
    """Linear CKA of two representations of the same examples, a 0-dim float64 tensor."""
    min_rows = MIN_ROWS_DEBIASED if debiased else MIN_ROWS_BIASED
    x = check_matrix(x, "x", min_rows=min_rows, varying=True)
    y = check_matrix(y, "y", min_rows=min_rows, varying=True)
    check_pair(x, y)
    resolved = resolve_form(form, x.shape[0], x.shape[1], y.shape[1])
    dtype = product_dtype(x, y)
    ref = _prepare(x, "x", resolved == "gram", dtype)
    return _cka(ref, centre(y, dtype), resolved, debiased)


def hsic(x: Tensor, y: Tensor, *, debiased: bool = False, form: Form = "auto") -> Tensor:
    """Linear-kernel HSIC: tr(KHLH)/(n-1)², or Song et al.'s unbiased HSIC_1 if `debiased`."""
    min_rows = MIN_ROWS_DEBIASED if debiased else MIN_ROWS_BIASED
    x = check_matrix(x, "x", min_rows=min_rows)
    y = check_matrix(y, "y", min_rows=min_rows)
    check_pair(x, y)
    n = x.shape[0]
    resolved = resolve_form(form, n, x.shape[1], y.shape[1])
    # HSIC of constant data is a well-defined 0: only CKA needs variance, so no variance check.
    ref = summarise(centre64(x), keep_gram=resolved == "gram")
    other, cross = compare(ref, centre64(y), resolved)
    if not debiased:
        return cross / (n - 1) ** 2
    ab = frobenius_dot(ref.row_sq_norms, other.row_sq_norms)
    return hsic1_from_terms(cross, ref.sq_norm, other.sq_norm, ab, n)
