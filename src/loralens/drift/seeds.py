"""How far two seeds of one method drift apart: the scale "how much drift is a lot" is read on.

Drift is 1 − debiased CKA between the base's and a fine-tuned model's representations of the
probe set. The same measure between two fine-tuned runs of one method that differ only in their
seed (data order, adapter initialisation) says how much of that drift a rerun alone would change:
a method whose drift from the base is near its seed-to-seed drift has moved about as far as
chance moves it. Computed per snapshot step present in every run, layer by layer, for every pair
of seeds, at one pooling.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from torch import Tensor

from loralens.drift.tables import varying
from loralens.metrics import MetricInputError, cka_against, prepare_reference
from loralens.probing.capture import layer_keys, split_key

Reps = dict[str, Tensor]
Snapshots = dict[int, Reps]  # step -> representations (one run)


def pair_rows(a: Reps, b: Reps, pooling: str) -> list[dict]:
    """Per layer at `pooling`: 1 − debiased CKA between two runs' representations (a layer
    either run does not vary in, or too short for the estimator, is left out)."""
    rows = []
    for key in layer_keys(a):
        kind, layer = split_key(key)
        if kind != pooling or key not in b or not (varying(a[key]) and varying(b[key])):
            continue
        try:
            cka = float(cka_against(prepare_reference(a[key]), b[key], debiased=True))
        except MetricInputError:
            continue
        rows.append({"layer": layer, "drift": 1.0 - cka})
    return rows


def seed_pair_drift(runs: dict[int, Snapshots], pooling: str) -> dict:
    """Seed-to-seed drift of one method: for every step all `runs` (seed -> snapshots) share
    and every pair of seeds, per-layer rows and their layer mean."""
    seeds = sorted(runs)
    if len(seeds) < 2:
        raise ValueError(f"seed-to-seed drift needs at least two seeds, got {seeds}")
    steps = sorted(set.intersection(*(set(runs[s]) for s in seeds)))
    rows, summary = [], []
    for step in steps:
        for sa, sb in itertools.combinations(seeds, 2):
            layers = pair_rows(runs[sa][step], runs[sb][step], pooling)
            rows += [{"step": step, "seeds": [sa, sb], **r} for r in layers]
            if layers:
                mean = float(np.mean([r["drift"] for r in layers]))
                summary.append(
                    {"step": step, "seeds": [sa, sb], "mean_drift": mean, "layers": len(layers)}
                )
    return {"pooling": pooling, "seeds": seeds, "rows": rows, "summary": summary}


def run_snapshots(run_dirs: dict[int, Path]) -> dict[int, Snapshots]:
    """Training runs' step snapshots by seed and step (the selected model's copy left out).

    Raises when the runs were probed on different probe sets: CKA pairs rows of one probe set.
    """
    from loralens.drift.io import DriftInputError, read_snapshots

    runs, probes = {}, {}
    for seed, run_dir in run_dirs.items():
        _, snaps, probes[seed] = read_snapshots(run_dir)
        runs[seed] = {step: reps for step, selected, reps in snaps if not selected}
    if len(set(probes.values())) > 1:
        listed = ", ".join(f"seed {s}: {sha[:12]}" for s, sha in probes.items())
        raise DriftInputError(f"seed-to-seed drift needs one probe set, the runs have {listed}")
    return runs
