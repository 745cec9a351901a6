"""The forgetting section of a synthetic study: each run's probes, full fine-tuning forgetting
more."""

from __future__ import annotations

from typing import Any

import numpy as np

FORGETTING_BASE = {
    "text": {"task": "guardian_headlines", "nll": 3.5},
    "tasks": [{"task": "rotten_tomatoes", "accuracy": 0.7}],
}


def forgetting_section(runs: list[dict], rng: np.random.Generator) -> dict[str, Any]:
    """What each run's forgetting stage measured: full fine-tuning forgets more."""
    rows = []
    for r in runs:
        lost = 0.05 if r["method"] == "full" else 0.01
        text = {"task": "guardian_headlines", "nll": 3.5 + lost + rng.normal(0, 0.005)}
        acc = {"task": "rotten_tomatoes", "accuracy": 0.7 - lost + rng.normal(0, 0.01)}
        rows.append(
            {
                "task": r["task"],
                "method": r["method"],
                "seed": r["seed"],
                "text": text,
                "tasks": [acc],
            }
        )
    return {"base": FORGETTING_BASE, "measured": rows}
