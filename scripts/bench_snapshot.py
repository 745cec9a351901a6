"""Capture plus drift of one probe snapshot of every layer of SmolLM2 (a benchmark, not a test).

    .venv/bin/python scripts/bench_snapshot.py [--examples 96] [--length 48] [--repeats 3]

The quickstart's probe set (rotten_tomatoes, 96 inputs, 48 tokens) through the packaged model:
the time to capture one snapshot, and to compute its drift rows against the base (a periodic
snapshot, and the selected one, which older versions alone gave intervals). Runs against any
loralens version on PYTHONPATH, so two versions can be timed side by side on one machine.
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import time
from functools import partial

import torch

from loralens.data import load_task
from loralens.drift.tables import drift_rows
from loralens.models.load import load_classifier
from loralens.probing.capture import capture
from loralens.probing.probe_set import probe_set


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Median and MAD of fn's wall time in s over `repeats` runs after one warm-up, its value."""
    value = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    med = statistics.median(times)
    return med, statistics.median(abs(t - med) for t in times), value


def main() -> None:
    """Print capture and drift times as JSON lines."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=96)
    ap.add_argument("--length", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.manual_seed(0)
    probe = probe_set(load_task("rotten_tomatoes"), args.examples)
    model, tok = load_classifier("smollm2-135m", 2)
    model.eval()
    med, mad, base = timed(lambda: capture(model, tok, probe.texts, args.length, 64), args.repeats)
    print(json.dumps({"what": "capture", "s": round(med, 3), "mad": round(mad, 3)}))
    with torch.no_grad():  # a "fine-tuned" model: every matrix nudged by 1% of its scale
        for p in model.parameters():
            if p.ndim == 2:
                p.add_(0.01 * p.abs().mean() * torch.randn_like(p))
    snap = capture(model, tok, probe.texts, args.length, 64)
    layers = sum(1 for k in base if k.startswith("mean.layer_"))
    new_api = "n_perm" in inspect.signature(drift_rows).parameters
    for selected in (False, True):
        kwargs = {} if new_api else {"with_ci": True}
        run = partial(drift_rows, base, [(10, selected, snap)], **kwargs)
        med, mad, rows = timed(run, 1)
        poolings = sorted({r["pooling"] for r in rows})
        print(
            json.dumps(
                {
                    "what": "drift, selected snapshot" if selected else "drift, periodic snapshot",
                    "s": round(med, 3),
                    "layers": layers,
                    "poolings": poolings,
                    "threads": torch.get_num_threads(),
                }
            )
        )


if __name__ == "__main__":
    main()
