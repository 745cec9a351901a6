"""Drift tables from captured representations.

Per snapshot x layer x pooling: debiased CKA (the primary measure; drift = 1 - debiased CKA)
with its jackknife interval, biased CKA beside it, cosine, Procrustes, the permutation null of
the pair compared, n against d, and the massive-activation diagnostic of the fine-tuned
representation. Controls per layer x pooling: the base against itself and against a randomly
initialised copy, and the base's own diagnostic.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from torch import Tensor

from loralens.metrics import (
    MetricInputError,
    cka_against,
    per_example_cosine,
    prepare_reference,
    procrustes_distance,
)
from loralens.metrics.cka_inference import (
    debiased_cka_interval,
    gram_terms,
    permutation_null,
)
from loralens.metrics.dominance import dominance, dominated
from loralens.probing.capture import LENGTHS, layer_keys, split_key
from loralens.probing.pooling import DEFAULT_POOLING

Reps = dict[str, Tensor]


def varying(x: Tensor) -> bool:
    """False when every column is constant (e.g. last-token embeddings of inputs ending in '.')."""
    return bool((x.double().std(0) > 0).any())


UNDEFINED = "undefined: the base representation does not vary across probe examples"


def compare_layer(
    x: Tensor, y: Tensor, ref=None, base_gram=None, n_perm: int = 100, extra: bool = True
) -> dict:
    """The similarities of one layer's base (x) and fine-tuned (y) representations.

    CKA (both estimators) with its interval always; with `extra`, cosine, Procrustes and the
    permutation null (`n_perm` shuffles) too.
    """
    ref = ref if ref is not None else prepare_reference(x)
    a = base_gram if base_gram is not None else gram_terms(x, "base")
    b = gram_terms(y, "fine-tuned")
    cka = float(cka_against(ref, y))
    ci = debiased_cka_interval(x, y, grams=(a, b))
    gen = torch.Generator().manual_seed(0)
    row = {
        "cka": cka,
        "cka_debiased": ci.estimate,
        "drift": 1.0 - ci.estimate,
        "drift_biased": 1.0 - cka,
        "cka_ci": [ci.low, ci.high],
        "n": int(x.shape[0]),
        "d": int(x.shape[1]),
    }
    if not extra:
        return row
    null = permutation_null(a, b, n_perm, gen).numpy() if n_perm else np.array([np.nan])
    return row | {
        "cosine": float(per_example_cosine(x, y).mean()),
        "cosine_centered": float(per_example_cosine(x, y, centred=True).mean()),
        "procrustes": float(procrustes_distance(x, y)),
        "null_cka_p95": float(np.quantile(null, 0.95)) if n_perm else None,
    }


def drift_rows(
    base: Reps,
    snapshots: list[tuple[int, bool, Reps]],
    n_perm: int = 100,
    compared: str | None = DEFAULT_POOLING,
) -> list[dict]:
    """One row per snapshot x layer x pooling (see the module docstring).

    Cosine, Procrustes and the permutation null are computed for the `compared` pooling only
    (None: every pooling); the others, kept for comparison, get CKA and its interval.
    """
    keys = layer_keys(base)
    lengths = base.get(LENGTHS)
    refs = {k: prepare_reference(base[k]) for k in keys if varying(base[k])}  # cached self-terms
    grams = {k: gram_terms(base[k], "base") for k in refs}  # the probe set has >= 5 rows
    rows = []
    for step, selected, reps in snapshots:
        for key in keys:
            pooling, layer = split_key(key)
            row = {"step": step, "selected": selected, "layer": layer, "pooling": pooling}
            if key not in refs:
                rows.append(row | {"note": UNDEFINED})
                continue
            y = reps[key]
            try:
                extra = compared in (None, pooling)
                row |= compare_layer(base[key], y, refs[key], grams[key], n_perm, extra)
            except MetricInputError as exc:  # e.g. a fine-tuned layer that collapsed
                rows.append(row | {"note": str(exc)})
                continue
            rows.append(row | dominance(y, lengths).to_dict())
    return rows


def control_rows(base: Reps, random_init: Reps) -> list[dict]:
    """Per layer x pooling: base vs itself (1), vs a random-init copy (floor), its diagnostic."""
    rows = []
    lengths = base.get(LENGTHS)
    for key in layer_keys(base):
        x = base[key]
        pooling, layer = split_key(key)
        if not varying(x):
            rows.append({"layer": layer, "pooling": pooling, "note": UNDEFINED})
            continue
        row = {
            "layer": layer,
            "pooling": pooling,
            "n": int(x.shape[0]),
            "d": int(x.shape[1]),
            **dominance(x, lengths).to_dict(),
        }
        try:
            ref = prepare_reference(x)
            row["self_cka"] = float(cka_against(ref, x, debiased=True))
            row["random_init_cka"] = float(cka_against(ref, random_init[key], debiased=True))
            row["random_init_cka_biased"] = float(cka_against(ref, random_init[key]))
        except MetricInputError as exc:  # too few distinct rows for the debiased estimator
            row["note"] = str(exc)
        rows.append(row)
    return rows


def dominated_layers(controls: list[dict], rows: list[dict]) -> dict[tuple[str, int], list[int]]:
    """Per (pooling, step): layers where the base or the snapshot has one dominant component."""
    base = {(c["pooling"], c["layer"]) for c in controls if dominated(c)}
    out: dict[tuple[str, int], set[int]] = defaultdict(set)
    for r in rows:
        if (r["pooling"], r["layer"]) in base or dominated(r):
            out[(r["pooling"], r["step"])].add(r["layer"])
    return {k: sorted(v) for k, v in out.items()}


def summarize(rows: list[dict], controls: list[dict] | None = None) -> list[dict]:
    """Mean drift over layers per pooling and snapshot (the selected one labelled as such)."""
    groups: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    for r in rows:
        if "drift" in r:
            groups[(r["pooling"], r["step"], r["selected"])].append((r["drift"], r["drift_biased"]))
    flagged = dominated_layers(controls or [], rows)
    out = []
    for (p, s, sel), v in sorted(groups.items()):
        drift, biased = np.array(v).T
        out.append(
            {
                "pooling": p,
                "step": s,
                "selected": sel,
                "mean_drift": float(drift.mean()),
                "max_drift": float(drift.max()),
                "mean_drift_biased": float(biased.mean()),
                "layers": len(v),
                "dominated_layers": flagged.get((p, s), []),
            }
        )
    return out
