"""The fixed, label-free probe set of a task: identical across runs, recorded by hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from loralens.data import TaskData

if TYPE_CHECKING:
    from loralens.config import RunConfig


@dataclass(frozen=True)
class ProbeSet:
    """Formatted probe inputs (no labels) and the sha256 that identifies them."""

    task: str
    texts: list[str]
    sha256: str


MIN_LINE_CHARS = 40  # a language-modelling probe input: a line of a test document, not a heading


def run_probe_set(data: TaskData, cfg: RunConfig) -> ProbeSet:
    """The probe set a run of `cfg` captures (its probing budget, drawn with its split seed)."""
    return probe_set(data, cfg.probing.max_examples, seed=cfg.task.split_seed)


def probe_set(data: TaskData, max_examples: int, seed: int = 0) -> ProbeSet:
    """Up to max_examples held-out (test-split) inputs, in a fixed order independent of runs.

    A language-modelling task has few, long test documents: its inputs are their lines.
    """
    if data.spec.kind == "language_modeling":
        pool = [
            line.strip()
            for e in data.splits.test
            for line in e.texts[0].splitlines()
            if len(line.strip()) >= MIN_LINE_CHARS
        ]
    else:
        pool = [data.spec.format_input(e) for e in data.splits.test]
    order = np.random.default_rng(seed).permutation(len(pool))[:max_examples]
    texts = [pool[i] for i in sorted(order.tolist())]
    digest = hashlib.sha256(json.dumps(texts).encode()).hexdigest()
    return ProbeSet(task=data.spec.name, texts=texts, sha256=digest)
