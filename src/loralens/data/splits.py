"""Fixed, seed-independent, stratified splits with cross-split duplicate removal (pure)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

import numpy as np

from loralens.data.spec import Example
from loralens.errors import DataError


@dataclass(frozen=True)
class Splits:
    """train (fit), val (selection), test (evaluated once) and what was removed on the way."""

    train: list[Example]
    val: list[Example]
    test: list[Example]
    duplicates_removed: int = 0
    notes: list[str] = field(default_factory=list)

    def fingerprint(self) -> str:
        """sha256 over every split's texts and labels (and QA answers and ids when present),
        identifying the data a run saw."""
        h = hashlib.sha256()
        for name in ("train", "val", "test"):
            for ex in getattr(self, name):
                record: list = [name, ex.texts, ex.label]
                if ex.answers or ex.answer_starts or ex.id:  # classification hashes as before
                    record.append([ex.answers, ex.answer_starts, ex.id])
                h.update(json.dumps(record).encode())
        return h.hexdigest()


def normalize(example: Example) -> str:
    """The duplicate key of an example: lower-cased text fields with whitespace collapsed."""
    return " || ".join(re.sub(r"\s+", " ", t).strip().lower() for t in example.texts)


def stratified_indices(labels: np.ndarray, n_pick: int, seed: int) -> np.ndarray:
    """Indices of a stratified sample of size n_pick (largest-remainder allocation per class)."""
    n = len(labels)
    if not 0 < n_pick <= n:
        raise ValueError(f"cannot pick {n_pick} of {n} examples")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * n_pick / n
    alloc = np.floor(quota).astype(int)
    remainder_order = np.argsort(-(quota - alloc), kind="stable")
    alloc[remainder_order[: n_pick - alloc.sum()]] += 1
    picked = [
        rng.permutation(np.flatnonzero(labels == c))[:k]
        for c, k in zip(classes, alloc, strict=True)
    ]
    return np.sort(np.concatenate(picked))


def stratified_split(
    examples: list[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Split into (rest, held) with `fraction` of each class held out."""
    labels = np.array([e.label for e in examples])
    n_held = max(1, round(len(examples) * fraction))
    held = set(stratified_indices(labels, n_held, seed).tolist())
    rest = [e for i, e in enumerate(examples) if i not in held]
    return rest, [examples[i] for i in sorted(held)]


def subsample(examples: list[Example], limit: int | None, seed: int) -> list[Example]:
    """A fixed stratified subsample of at most `limit` examples, in original order."""
    if limit is None or limit >= len(examples):
        return examples
    idx = stratified_indices(np.array([e.label for e in examples]), limit, seed)
    return [examples[i] for i in idx]


def drop_overlap(examples: list[Example], held: list[Example]) -> tuple[list[Example], int]:
    """Remove examples whose normalized text occurs in `held`; return the rest and the count."""
    keys = {normalize(e) for e in held}
    kept = [e for e in examples if normalize(e) not in keys]
    return kept, len(examples) - len(kept)


MIN_ROWS = {"train": 4, "val": 2, "test": 5}
WHY_MIN = {
    "train": "training run",
    "val": "checkpoint selection",
    "test": "test score and the probe set (debiased CKA)",
}


def make_splits(
    pool: list[Example],
    test: list[Example] | None,
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    max_train: int | None = None,
    max_val: int | None = None,
    max_test: int | None = None,
    min_classes: int = 2,
) -> Splits:
    """Carve train/val (and test if absent) from the pool; duplicates leave the training side."""
    notes = []
    given = len(pool)
    if test is None:
        pool, test = stratified_split(pool, test_fraction, seed)
        notes.append(f"no official held-out set: test is a stratified {test_fraction:.0%} of data")
    pool, dup_test = drop_overlap(pool, test)
    if len(pool) < 2:
        raise DataError(_too_few(given, len(pool), dup_test))
    train, val = stratified_split(pool, val_fraction, seed + 1)
    train, dup_val = drop_overlap(train, val)
    splits = Splits(
        train=subsample(train, max_train, seed + 2),
        val=subsample(val, max_val, seed + 3),
        test=subsample(test, max_test, seed + 4),
        duplicates_removed=dup_test + dup_val,
        notes=notes,
    )
    for name, least in MIN_ROWS.items():
        rows = len(getattr(splits, name))
        if rows < least:
            raise DataError(
                f"the {name} split has {rows} example(s), fewer than {least} (the least a "
                f"{WHY_MIN[name]} needs); provide more data or larger max_{name}"
            )
    if len({e.label for e in splits.train}) < min_classes:
        raise DataError("the train split holds one class; a classifier needs at least two")
    return splits


def _too_few(given: int, left: int, duplicates: int) -> str:
    """Why train and val would be empty: what the test split took (and what repeated it)."""
    took = f", {duplicates} repeating a test example" if duplicates else ""
    need = ", ".join(f"{name} {n}" for name, n in MIN_ROWS.items())
    return (
        f"{given} training example(s) leave {left} for train and val once the test split is "
        f"set aside{took}, so they would be empty; a task needs at least "
        f"{sum(MIN_ROWS.values())} ({need}): provide more data"
    )
