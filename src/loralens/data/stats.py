"""Dataset statistics for `loralens data stats` (pure, given the splits and a tokenizer)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from loralens.data import TaskData

QUANTILES = (0.5, 0.9, 0.95, 0.99, 1.0)
EXAMPLE_CHARS = 600  # an example row's input as shown (a language-modelling document is long)


def label_distribution(examples: list, label_names: list[str]) -> dict[str, int]:
    """Count of each label name in a split."""
    counts = Counter(e.label for e in examples)
    return {name: counts.get(i, 0) for i, name in enumerate(label_names)}


def length_quantiles(lengths: list[int]) -> dict[str, float]:
    """Token-length quantiles (p50 ... max)."""
    arr = np.asarray(lengths)
    return {f"p{round(q * 100)}": float(np.quantile(arr, q)) for q in QUANTILES}


def task_stats(data: TaskData, count_tokens: Callable[[list[str]], list[int]] | None) -> dict:
    """Split sizes, label distributions, token lengths, duplicates removed, example rows."""
    spec, splits = data.spec, data.splits
    out: dict = {
        "task": spec.name,
        "origin": data.origin,
        "label_names": spec.label_names,
        "splits": {},
        "duplicates_removed": splits.duplicates_removed,
        "notes": splits.notes,
        "fingerprint": splits.fingerprint(),
    }
    for name in ("train", "val", "test"):
        exs = getattr(splits, name)
        entry = {"size": len(exs), "labels": label_distribution(exs, spec.label_names)}
        if spec.kind == "extractive_qa":
            entry["answerable"] = sum(bool(e.answers) for e in exs)
        if count_tokens is not None:
            lengths = count_tokens([spec.format_input(e) for e in exs])
            entry["token_length"] = length_quantiles(lengths)
        out["splits"][name] = entry
    out["examples"] = [_example_row(spec, e) for e in splits.train[:3]]
    return out


def _example_row(spec, example) -> dict:
    """An example as shown: its input and its label name (none without labels) or answers."""
    row = {
        "input": spec.format_input(example)[
            : EXAMPLE_CHARS if spec.kind == "language_modeling" else None
        ],
        "label": spec.label_names[example.label] if spec.label_names else None,
    }
    if spec.kind == "extractive_qa":
        row["answers"] = list(example.answers)
    return row
