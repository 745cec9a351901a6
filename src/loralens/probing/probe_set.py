"""The fixed, label-free probe set of a task: identical across runs, recorded by hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from loralens.data import TaskData


@dataclass(frozen=True)
class ProbeSet:
    """Formatted probe inputs (no labels) and the sha256 that identifies them."""

    task: str
    texts: list[str]
    sha256: str


def probe_set(data: TaskData, max_examples: int, seed: int = 0) -> ProbeSet:
    """Up to max_examples held-out (test-split) inputs, in a fixed order independent of runs."""
    examples = data.splits.test
    order = np.random.default_rng(seed).permutation(len(examples))[:max_examples]
    texts = [data.spec.format_input(examples[i]) for i in sorted(order.tolist())]
    digest = hashlib.sha256(json.dumps(texts).encode()).hexdigest()
    return ProbeSet(task=data.spec.name, texts=texts, sha256=digest)
