"""Drift tables from captured representations: CKA (both estimators), cosine, Procrustes, CIs."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from torch import Tensor

from loralens.metrics import (
    MetricInputError,
    cka_against,
    linear_cka,
    per_example_cosine,
    prepare_reference,
    procrustes_distance,
)
from loralens.stats.jackknife import jackknife_ci


def split_key(key: str) -> tuple[str, int]:
    """'mean.layer_12' -> ('mean', 12)."""
    pooling, layer = key.split(".layer_")
    return pooling, int(layer)


def cka_ci(x: Tensor, y: Tensor) -> tuple[float, float]:
    """95% delete-one jackknife CI of biased CKA over probe examples (see stats.jackknife)."""
    x64, y64 = x.double(), y.double()

    def stat(idx: np.ndarray) -> float:
        try:
            return float(linear_cka(x64[idx], y64[idx]))
        except MetricInputError:  # rows left all constant: CKA undefined
            return float("nan")

    ci = jackknife_ci(stat, x.shape[0])
    return ci.low, ci.high


def compare_layer(x: Tensor, y: Tensor, ref=None) -> dict[str, float]:
    """Every similarity of one layer's base (x) and fine-tuned (y) representations."""
    ref = ref if ref is not None else prepare_reference(x)
    cka = float(cka_against(ref, y))
    return {
        "cka": cka,
        "cka_debiased": float(cka_against(ref, y, debiased=True)),
        "cosine": float(per_example_cosine(x, y).mean()),
        "cosine_centered": float(per_example_cosine(x, y, centred=True).mean()),
        "procrustes": float(procrustes_distance(x, y)),
        "drift": 1.0 - cka,
    }


def varying(x: Tensor) -> bool:
    """False when every column is constant (e.g. last-token embeddings of inputs ending in '.')."""
    return bool((x.double().std(0) > 0).any())


UNDEFINED = "undefined: the base representation does not vary across probe examples"


def drift_rows(
    base: dict[str, Tensor],
    snapshots: list[tuple[int, bool, dict[str, Tensor]]],
    with_ci: bool = True,
) -> list[dict]:
    """One row per snapshot x layer x pooling; jackknife CIs on the selected snapshot."""
    refs = {k: prepare_reference(v) for k, v in base.items() if varying(v)}  # cached self-terms
    rows = []
    for step, selected, reps in snapshots:
        for key, x in base.items():
            pooling, layer = split_key(key)
            row = {"step": step, "selected": selected, "layer": layer, "pooling": pooling}
            if key not in refs:
                rows.append(row | {"note": UNDEFINED})
                continue
            try:
                row |= compare_layer(x, reps[key], refs[key])
            except MetricInputError as exc:  # e.g. a fine-tuned layer that collapsed
                rows.append(row | {"note": str(exc)})
                continue
            lo, hi = cka_ci(x, reps[key]) if selected and with_ci else (None, None)
            rows.append(row | {"cka_ci": [lo, hi]})
    return rows


def control_rows(
    base: dict[str, Tensor], random_init: dict[str, Tensor], n_perm: int = 100, seed: int = 0
) -> list[dict]:
    """Per layer x pooling: base vs itself (1), vs a random-init copy (floor), row-shuffled null."""
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for key, x in base.items():
        pooling, layer = split_key(key)
        if not varying(x):
            rows.append({"layer": layer, "pooling": pooling, "note": UNDEFINED})
            continue
        ref = prepare_reference(x)
        null = [
            float(cka_against(ref, x[torch.randperm(x.shape[0], generator=gen)]))
            for _ in range(n_perm)
        ]
        rows.append(
            {
                "layer": layer,
                "pooling": pooling,
                "self_cka": float(cka_against(ref, x)),
                "random_init_cka": float(cka_against(ref, random_init[key])),
                "permutation_cka_p95": float(np.quantile(null, 0.95)),
                "permutation_cka_mean": float(np.mean(null)),
            }
        )
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """Mean drift over layers per pooling, at the selected snapshot and at every step."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        if "drift" in r:
            groups[(r["pooling"], r["step"], r["selected"])].append(r["drift"])
    return [
        {
            "pooling": p,
            "step": s,
            "selected": sel,
            "mean_drift": float(np.mean(v)),
            "max_drift": float(np.max(v)),
            "layers": len(v),
        }
        for (p, s, sel), v in sorted(groups.items())
    ]
