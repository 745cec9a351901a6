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


def run_probe_set(data: TaskData, cfg: RunConfig) -> ProbeSet:
    """The probe set a run of `cfg` captures (its probing budget, drawn with its split seed)."""
    return probe_set(data, cfg.probing.max_examples, seed=cfg.task.split_seed)


def probe_set(data: TaskData, max_examples: int, seed: int = 0) -> ProbeSet:
    """Up to max_examples held-out (test-split) inputs, in a fixed order independent of runs:
    each test example's input, or what the task's kind draws from its test split instead
    (`TaskKind.probe_pool`; language modelling: the lines of its few, long documents)."""
    from loralens.kinds import get_kind

    kind = get_kind(data.spec.kind)
    if kind.probe_pool is not None:
        pool = kind.probe_pool(data)
    else:
        pool = [data.spec.format_input(e) for e in data.splits.test]
    order = np.random.default_rng(seed).permutation(len(pool))[:max_examples]
    texts = [pool[i] for i in sorted(order.tolist())]
    digest = hashlib.sha256(json.dumps(texts).encode()).hexdigest()
    return ProbeSet(task=data.spec.name, texts=texts, sha256=digest)
