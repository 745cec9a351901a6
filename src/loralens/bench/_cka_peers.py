"""PyPI CKA packages the benchmark compares with, imported only if present."""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

from torch import Tensor

PeerFn = Callable[[Tensor, Tensor], float]
PeerEntry = tuple[str, bool, PeerFn]  # (label, debiased, fn)


@contextlib.contextmanager
def _on_path(path: str | None) -> Iterator[None]:
    if path is None:
        yield
        return
    sys.path.insert(0, path)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(path)


def _peer_pytorch_cka(module: Any) -> list[PeerEntry]:
    if not hasattr(module, "cka_from_features"):
        raise ImportError("module 'cka' is not pytorch-cka (no cka_from_features)")
    fn = module.cka_from_features  # HSIC_1 on input-dtype Grams, clamped to [0, 1]
    return [("pytorch-cka cka_from_features", True, lambda x, y: float(fn(x, y).reshape(())))]


def _peer_ckatorch(module: Any) -> list[PeerEntry]:
    fn = module.cka_base  # float64 Gram matrices, Kornblith's centring
    return [
        ("ckatorch cka_base", False, lambda x, y: float(fn(x, y, unbiased=False))),
        ("ckatorch cka_base unbiased", True, lambda x, y: float(fn(x, y, unbiased=True))),
    ]


def _peer_torch_cka(module: Any) -> list[PeerEntry]:
    hsic = module.CKA._HSIC  # Nguyen et al. eq. 3 on input-dtype Grams with zeroed diagonal

    def cka(x: Tensor, y: Tensor) -> float:
        host = types.SimpleNamespace(device=x.device)  # stands in for the CKA object
        k, l_ = x @ x.T, y @ y.T
        k.fill_diagonal_(0.0)
        l_.fill_diagonal_(0.0)
        denom = hsic(host, k, k) * hsic(host, l_, l_)
        return hsic(host, k, l_) / denom**0.5 if denom > 0 else float("nan")

    return [("torch-cka CKA._HSIC", True, cka)]


PEERS: dict[str, tuple[str, Callable[[Any], list[PeerEntry]]]] = {
    "pytorch-cka": ("cka", _peer_pytorch_cka),
    "ckatorch": ("ckatorch", _peer_ckatorch),
    "torch-cka": ("torch_cka", _peer_torch_cka),
}


def load_peers(peer_path: str | None) -> tuple[list[PeerEntry], list[str]]:
    """Peer CKA functions (label, debiased, fn) that import, and a note for each that did not."""
    found, notes = [], []
    with _on_path(peer_path):
        for package, (module_name, adapt) in PEERS.items():
            try:
                found += adapt(importlib.import_module(module_name))
            except Exception as err:  # a peer that fails to import is skipped, not fatal
                notes.append(f"{package}: skipped ({type(err).__name__}: {err})")
    return found, notes
