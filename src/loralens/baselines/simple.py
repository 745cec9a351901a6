"""Majority-class and stratified-random baselines (pure: labels in, predictions out)."""

from __future__ import annotations

from collections import Counter

import numpy as np


def majority_predictions(train_labels: list[int], n: int) -> np.ndarray:
    """Predict the most frequent training label (ties: the lowest index) for n examples."""
    counts = Counter(train_labels)
    label = min(counts, key=lambda c: (-counts[c], c))
    return np.full(n, label)


def random_predictions(train_labels: list[int], n: int, seed: int) -> np.ndarray:
    """Sample n labels from the training label distribution (stratified random guessing)."""
    labels, counts = np.unique(np.asarray(train_labels), return_counts=True)
    rng = np.random.default_rng(seed)
    return rng.choice(labels, size=n, p=counts / counts.sum())
