"""Representation similarity: linear CKA (biased, debiased, minibatch, cached reference),
per-example cosine similarity and orthogonal Procrustes distance. Pure tensor functions, no I/O.

Every function takes matrices of shape (n_examples, n_features), computes in float64 on the
inputs' device, and raises `MetricInputError` (a ValueError) for unusable input.
"""

from loralens.metrics._checks import MetricInputError
from loralens.metrics.cka import (
    CKAReference,
    cka_against,
    cka_drift,
    hsic,
    linear_cka,
    prepare_reference,
)
from loralens.metrics.cosine import per_example_cosine
from loralens.metrics.minibatch import minibatch_cka, minibatch_hsic
from loralens.metrics.procrustes import procrustes_distance

__all__ = [
    "CKAReference",
    "MetricInputError",
    "cka_against",
    "cka_drift",
    "hsic",
    "linear_cka",
    "minibatch_cka",
    "minibatch_hsic",
    "per_example_cosine",
    "prepare_reference",
    "procrustes_distance",
]
