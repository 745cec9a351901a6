"""CKA benchmark: loralens against the GEMMs it needs, a NumPy Kornblith baseline and PyPI peers.

Activations are LLM-like float32 matrices (a mean offset of about 100, a few outlier columns
scaled ×50); the "fine-tuned" snapshot is the base plus noise. Every timed entry reports its
median and MAD over `repeats` runs after one warm-up run, its ratio to the float64 and float32
GEMM lower bounds, and its largest absolute difference from a float64 NumPy reference.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import Tensor

from loralens.bench._cka_peers import PeerEntry, load_peers
from loralens.metrics import cka_drift, linear_cka, prepare_reference
from loralens.metrics.cka import resolve_form


def llm_like_activations(
    n: int, d: int, generator: torch.Generator, *, n_outliers: int = 4
) -> Tensor:
    """(n, d) float32 activations: offset ≈ 100 ± 5 per column, `n_outliers` columns ×50."""
    x = torch.randn(n, d, generator=generator, dtype=torch.float64)  # (n, d)
    x += 100.0 + 5.0 * torch.randn(d, generator=generator, dtype=torch.float64)
    outliers = torch.randperm(d, generator=generator)[:n_outliers]
    x[:, outliers] *= 50.0
    return x.to(torch.float32)


def _snapshot(x: Tensor, generator: torch.Generator, noise: float = 0.7) -> Tensor:
    """A "fine-tuned" version of `x`: the same rows plus isotropic noise, float32."""
    return x + noise * torch.randn(x.shape, generator=generator, dtype=x.dtype)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ms(fn: Callable[[], object], repeats: int, device: torch.device) -> tuple[float, float]:
    """Median and median absolute deviation of `fn`'s wall time in ms, after one warm-up run."""
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - start) * 1e3)
    median = float(np.median(times))
    return median, float(np.median(np.abs(np.array(times) - median)))


# --- float64 NumPy references (independent of loralens' code) -----------------------------


def _centred64(a: Tensor) -> np.ndarray:
    x = a.detach().cpu().numpy().astype(np.float64)
    return x - x.mean(axis=0)


def reference_cka(x: Tensor, y: Tensor, debiased: bool) -> float:
    """Float64 reference: ‖XᵀY‖²/(‖XᵀX‖‖YᵀY‖), or Song et al.'s HSIC_1 on the Gram matrices."""
    xc, yc = _centred64(x), _centred64(y)  # (n, d) each
    if not debiased:
        return float(
            np.sum((xc.T @ yc) ** 2) / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))
        )

    def hsic1(k: np.ndarray, l_: np.ndarray) -> float:
        n = k.shape[0]
        k, l_ = k - np.diag(np.diag(k)), l_ - np.diag(np.diag(l_))  # K̃, L̃
        k1, l1 = k.sum(axis=1), l_.sum(axis=1)  # K̃1, L̃1
        total = np.sum(k * l_) + k1.sum() * l1.sum() / ((n - 1) * (n - 2)) - 2 / (n - 2) * k1 @ l1
        return float(total / (n * (n - 3)))

    k, l_ = xc @ xc.T, yc @ yc.T  # (n, n)
    return hsic1(k, l_) / np.sqrt(hsic1(k, k) * hsic1(l_, l_))


# --- a straightforward NumPy implementation of Kornblith et al.'s published code -------------


def kornblith_numpy_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Kornblith et al.'s `cka(gram_linear(x), gram_linear(y))` (biased), in the inputs' dtype."""
    centred = []
    for gram in (x @ x.T, y @ y.T):  # (n, n), as their `gram_linear`, then `center_gram`
        means = np.mean(gram, 0, dtype=np.float64)
        means -= np.mean(means) / 2
        gram -= means[:, None]
        gram -= means[None, :]
        centred.append(gram)
    hsic = centred[0].ravel().dot(centred[1].ravel())
    return float(hsic / (np.linalg.norm(centred[0]) * np.linalg.norm(centred[1])))


# --- benchmark sections -------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the result table."""

    section: str  # "pair" or "drift"
    d: int
    form: str
    name: str
    ms: float  # median wall time
    mad_ms: float  # median absolute deviation
    x_gemm64: float | None = None  # ms / the float64 GEMM row's ms
    x_gemm32: float | None = None  # ms / the float32 GEMM row's ms
    value: float | None = None  # CKA (mean over layers for the drift)
    max_abs_diff: float | None = None  # from the float64 reference
    x_numpy64: float | None = None  # ms / the NumPy float64 row's ms (pair rows)


@dataclass(frozen=True)
class _Section:
    """Where rows belong (pair or drift, width, form) and how to time them."""

    name: str
    d: int
    form: str
    repeats: int
    device: torch.device

    def timed(self, entry: str, fn: Callable[[], object], form: str | None = None) -> Row:
        """Time `fn` and return its table row (ratios and error are filled in later)."""
        ms, mad = time_ms(fn, self.repeats, self.device)
        return Row(self.name, self.d, form or self.form, entry, ms, mad)


def _with_error(row: Row, values: list[float], refs: list[float]) -> Row:
    """Record the (mean) value and the largest absolute difference from the references."""
    row.value = float(np.mean(values))
    row.max_abs_diff = float(max(abs(v - r) for v, r in zip(values, refs, strict=True)))
    return row


def _ratios(rows: list[Row]) -> list[Row]:
    """Divide every time by the float64 and float32 GEMM rows, the first two of `rows`."""
    for row in rows:
        row.x_gemm64, row.x_gemm32 = row.ms / rows[0].ms, row.ms / rows[1].ms
    return rows


def _pair_rows(
    x: Tensor, y: Tensor, repeats: int, peers: list[PeerEntry], notes: list[str]
) -> list[Row]:
    n, d = x.shape
    sec = _Section("pair", d, resolve_form("auto", n, d, d), repeats, x.device)
    refs = {deb: reference_cka(x, y, deb) for deb in (False, True)}
    xc, yc = (t.double() - t.double().mean(0) for t in (x, y))  # (n, d) float64, centred
    feature = sec.form == "feature"
    product = "XᵀY" if feature else "XXᵀ"
    gemm = (lambda a, b: a.T @ b) if feature else (lambda a, b: a @ a.T)
    rows = [
        sec.timed(f"GEMM float64 ({product})", lambda: gemm(xc, yc)),
        sec.timed(f"GEMM float32 ({product})", lambda: gemm(x, y)),
    ]
    for deb in (False, True):
        row = sec.timed(
            f"loralens linear_cka {_estimator(deb)}", lambda deb=deb: linear_cka(x, y, debiased=deb)
        )
        rows.append(_with_error(row, [float(linear_cka(x, y, debiased=deb))], [refs[deb]]))
    xn, yn = x.cpu().numpy(), y.cpu().numpy()
    x64, y64 = xn.astype(np.float64), yn.astype(np.float64)
    for label, a, b in (("float32 input", xn, yn), ("float64", x64, y64)):
        row = sec.timed(
            f"numpy Kornblith biased, {label}", lambda a=a, b=b: kornblith_numpy_cka(a, b), "gram"
        )
        rows.append(_with_error(row, [kornblith_numpy_cka(a, b)], [refs[False]]))
    for label, deb, fn in peers:
        try:
            row = sec.timed(f"peer: {label} ({_estimator(deb)})", lambda fn=fn: fn(x, y), "gram")
            rows.append(_with_error(row, [fn(x, y)], [refs[deb]]))
        except Exception as err:  # a peer failing on these inputs is a finding, not a crash
            notes.append(f"{label} failed at n={n}, d={d}: {type(err).__name__}: {err}")
    numpy64 = next(r for r in rows if r.name == "numpy Kornblith biased, float64")
    for row in rows[2:]:
        row.x_numpy64 = row.ms / numpy64.ms
    return _ratios(rows)


def _estimator(debiased: bool) -> str:
    return "debiased" if debiased else "biased"


def _needed_gemms(form: str, xs: list[Tensor], ys: list[Tensor]) -> None:
    """The products the drift needs beyond the cache: XᵀY and YᵀY, or YYᵀ in the Gram form."""
    for x, y in zip(xs, ys, strict=True):
        _ = (x.T @ y, y.T @ y) if form == "feature" else y @ y.T


def _drift_rows(
    n: int, d: int, layers: int, repeats: int, gen: torch.Generator, device: torch.device
) -> list[Row]:
    base = [llm_like_activations(n, d, gen).to(device) for _ in range(layers)]  # (n, d) each
    tuned = [_snapshot(b, gen) for b in base]
    sec = _Section("drift", d, resolve_form("auto", n, d, d), repeats, device)
    start = time.perf_counter()
    refs = [prepare_reference(b) for b in base]
    _sync(device)
    prep_ms = (time.perf_counter() - start) * 1e3
    del base  # the cached references are all the drift needs from the base
    xs64, xs32 = [r.centred.double() for r in refs], [r.centred.float() for r in refs]
    tuned64 = [t.double() - t.double().mean(0) for t in tuned]
    needed = "XᵀY + YᵀY" if sec.form == "feature" else "YYᵀ"
    rows = [
        sec.timed(
            f"GEMMs float64 ({needed}) × {layers}", partial(_needed_gemms, sec.form, xs64, tuned64)
        ),
        sec.timed(
            f"GEMMs float32 ({needed}) × {layers}", partial(_needed_gemms, sec.form, xs32, tuned)
        ),
    ]
    del xs32, tuned64
    for deb in (False, True):
        row = sec.timed(
            f"loralens cka_drift {_estimator(deb)} × {layers}",
            lambda deb=deb: cka_drift(refs, tuned, debiased=deb),
        )
        values = cka_drift(refs, tuned, debiased=deb).tolist()
        expected = [reference_cka(r.centred, t, deb) for r, t in zip(refs, tuned, strict=True)]
        rows.append(_with_error(row, values, expected))
    prep = Row("drift", d, sec.form, f"prepare_reference × {layers} (once per base)", prep_ms, 0.0)
    return [prep, *_ratios(rows)]


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block on `threads` torch and BLAS threads (unchanged if None), then restore."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:  # NumPy's and SciPy's BLAS (OpenBLAS) too, so every entry runs on `threads` threads
        with threadpool_limits(threads):
            yield
    finally:
        torch.set_num_threads(previous)


NOTES = [
    "inputs are float32; loralens centres them with a float64 mean, multiplies in float32 "
    "(BLAS syrk for XᵀX, XXᵀ) and sums the products in float64",
    "×numpy64: time / the NumPy float64 row's (below 1: loralens ahead)",
    "references: float64 NumPy on data centred in float64 (biased: feature-space formula; "
    "debiased: Song et al. 2012 on the Gram matrices)",
    "GEMM rows are plain torch products; loralens forms only one triangle of the symmetric "
    "XᵀX, YᵀY, XXᵀ, YYᵀ, so it can beat them",
    "NumPy uses syrk for a @ a.T (half the flops of a GEMM)",
]


def run_cka_bench(
    n: int = 1000,
    dims: tuple[int, ...] = (576, 2048),
    layers: int = 31,
    repeats: int = 5,
    peers: bool = True,
    *,
    peer_path: str | None = None,
    device: str = "cpu",
    threads: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Time loralens CKA against GEMM lower bounds, NumPy Kornblith and peers; a JSON-able dict."""
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    peer_fns, notes = load_peers(peer_path) if peers else ([], ["peers: not requested"])
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    with torch_threads(threads):
        config: dict[str, Any] = {"n": n, "dims": list(dims), "layers": layers}
        config |= {"repeats": repeats, "device": device, "seed": seed, "cpu_count": os.cpu_count()}
        config |= {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
        config |= {"numpy": np.__version__, "python": platform.python_version()}
        for d in dims:
            x = llm_like_activations(n, d, gen).to(dev)  # (n, d) float32
            rows += _pair_rows(x, _snapshot(x, gen), repeats, peer_fns, notes)
        for d in dims:
            if layers > 0:
                rows += _drift_rows(n, d, layers, repeats, gen, dev)
    config["load_average_1min"] = [load_before, os.getloadavg()[0]]  # before, after
    return {"config": config, "rows": [asdict(r) for r in rows], "notes": notes + NOTES}


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def format_cka_bench(result: dict[str, Any]) -> str:
    """Render a `run_cka_bench` result as a plain-text table."""
    cfg = result["config"]
    lines = [
        f"CKA benchmark: n={cfg['n']}, dims={cfg['dims']}, layers={cfg['layers']}, "
        f"repeats={cfg['repeats']} (median ± MAD after warm-up), device={cfg['device']}, "
        f"torch {cfg['torch']} (threads={cfg['torch_threads']}), numpy {cfg['numpy']}, "
        f"{cfg['cpu_count']} CPUs, 1-min load average {cfg['load_average_1min'][0]:.1f} before "
        f"and {cfg['load_average_1min'][1]:.1f} after",
        "",
        f"{'section':<6} {'d':>5} {'form':<7} {'entry':<48} {'ms':>9} {'±MAD':>7} "
        f"{'×GEMM64':>8} {'×GEMM32':>8} {'×numpy64':>8} {'value':>8} {'max|Δ| vs f64':>13}",
    ]
    lines.append("-" * len(lines[-1]))
    for r in result["rows"]:
        lines.append(
            f"{r['section']:<6} {r['d']:>5} {r['form']:<7} {r['name']:<48} {r['ms']:>9.2f} "
            f"{r['mad_ms']:>7.2f} {_fmt(r['x_gemm64'], '8.2f'):>8} "
            f"{_fmt(r['x_gemm32'], '8.2f'):>8} {_fmt(r.get('x_numpy64'), '8.2f'):>8} "
            f"{_fmt(r['value'], '8.5f'):>8} "
            f"{_fmt(r['max_abs_diff'], '13.1e'):>13}"
        )
    lines += ["", *(f"note: {note}" for note in result["notes"])]
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse
    import json

    cli = argparse.ArgumentParser(description="Benchmark loralens CKA (see run_cka_bench).")
    cli.add_argument("--json", action="store_true", help="print the result as JSON")
    cli.add_argument("--threads", type=int, help="torch threads during the run")
    cli.add_argument("--peer-path", help="a `pip install --target` folder holding the peers")
    args = cli.parse_args()
    bench = run_cka_bench(peer_path=args.peer_path, threads=args.threads)
    print(json.dumps(bench, indent=2) if args.json else format_cka_bench(bench))
