"""Task metrics by registry name: each declares its task kind, direction and aggregation.

A task file names its metrics and its primary metric from this registry; training selects the
checkpoint by the primary metric in its declared direction, zero-shot prompts are chosen by it,
and the study compares methods on it. Classification metrics carry their function (labels and
predictions in); a generative kind computes its own metrics in its evaluator (`loralens.kinds`).
scikit-learn is imported only when a metric is computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

# labels, predictions (label indices), number of labels, positive label -> value
MetricFn = Callable[[np.ndarray, np.ndarray, int, int], float]
# one test record of a run (predictions.jsonl) -> that example's score
ExampleFn = Callable[[dict], float]


@dataclass(frozen=True)
class Metric:
    """One task metric and how to read it."""

    name: str
    description: str
    fn: MetricFn | None  # None: computed by the task kind's evaluator
    greater_is_better: bool = True
    kind: str = "classification"  # the task kind whose evaluator produces it
    aggregation: Literal["mean"] = "mean"  # over seeds: mean ± SD, intervals from the seeds
    percent: bool = False  # a fraction in results, shown as a percentage in reports
    val_only: bool = False  # a selection score on val, never a task's (test) metric
    # A per-example mean: each test record's score, whose mean over a run's records is the
    # metric (the verdict then crosses examples with runs). None: not a mean of examples
    # (F1 and MCC of a test set, perplexity: the exp of a mean).
    example_score: ExampleFn | None = None
    unit: str = ""  # of a difference in the metric when not percent (e.g. "nats")
    label: str = ""  # its name in reports ("" : the name, underscores as spaces)

    @property
    def shown_as(self) -> str:
        """Its name in reports: 'Accuracy', 'SQuAD F1'."""
        return self.label or self.name.replace("_", " ")

    @property
    def difference_unit(self) -> str:
        """What a difference of two scores is measured in: points for percent metrics."""
        return "points" if self.percent else self.unit or f"{self.name} units"

    def difference(self, value: float, signed: bool = True) -> str:
        """A difference of two scores in its unit: '-3.0 points', '0.03 nats'."""
        shown, digits = (100 * value, ".1f") if self.percent else (value, ".3g")
        return f"{shown:{'+' if signed else ''}{digits}} {self.difference_unit}"


def _accuracy(y: np.ndarray, p: np.ndarray, num_labels: int, positive: int) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(y, p))


def _correct(record: dict) -> float:
    """1 if a classification record's prediction is its label, else 0."""
    return float(record["pred"] == record["label"])


def _f1(y: np.ndarray, p: np.ndarray, num_labels: int, positive: int) -> float:
    from sklearn.metrics import f1_score

    if num_labels == 2:
        return float(f1_score(y, p, pos_label=positive, zero_division=0))
    return float(f1_score(y, p, average="macro", zero_division=0))


def _mcc(y: np.ndarray, p: np.ndarray, num_labels: int, positive: int) -> float:
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(y, p))


def _record(field: str) -> ExampleFn:
    """A record's own `field` as its score (QA records carry "exact" and "f1")."""
    return lambda record: float(record[field])


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "accuracy",
            "share of correct predictions",
            _accuracy,
            percent=True,
            example_score=_correct,
            label="Accuracy",
        ),
        Metric(
            "f1", "F1 of the positive label (binary) or macro F1", _f1, percent=True, label="F1"
        ),
        Metric("mcc", "Matthews correlation coefficient", _mcc, label="MCC"),
        # Language modelling: the mean cross-entropy of each predicted token (nats) is the
        # primary metric: a margin on it is a margin on log perplexity (0.03 nats = 3% more
        # perplexity), so the absolute non-inferiority margin of the verdict keeps its meaning.
        # A test document's score is its summed NLL over the mean tokens per scored document:
        # their mean is the token-weighted NLL exactly (loralens.kinds.language_modeling).
        Metric(
            "nll",
            "mean next-token cross-entropy on held-out text (nats; log perplexity)",
            None,
            greater_is_better=False,
            kind="language_modeling",
            example_score=_record("nll_score"),
            unit="nats",
            label="NLL",
        ),
        Metric(
            "perplexity",
            "exp(mean next-token cross-entropy) on held-out text",
            None,
            greater_is_better=False,
            kind="language_modeling",
            label="Perplexity",
        ),
        # Extractive QA: the official SQuAD v2 scores as fractions (the script's percentages
        # / 100, like accuracy), overall and per group of answerable (HasAns) and unanswerable
        # (NoAns) questions; a group without questions has no entry in a run's test scores.
        *(
            Metric(
                name,
                text,
                None,
                kind="extractive_qa",
                percent=True,
                example_score=score,
                label=label,
            )
            for name, label, text, score in (
                (
                    "squad_f1",
                    "SQuAD F1",
                    "SQuAD token-overlap F1, max over gold answers",
                    _record("f1"),
                ),
                (
                    "exact_match",
                    "Exact match",
                    "SQuAD exact match after answer normalization",
                    _record("exact"),
                ),
                ("has_answer_f1", "HasAns F1", "SQuAD F1 on the answerable questions", None),
                (
                    "has_answer_exact",
                    "HasAns EM",
                    "SQuAD exact match on the answerable questions",
                    None,
                ),
                ("no_answer_f1", "NoAns F1", "SQuAD F1 on the unanswerable questions", None),
                (
                    "no_answer_exact",
                    "NoAns EM",
                    "SQuAD exact match on the unanswerable questions",
                    None,
                ),
            )
        ),
        # The Trainer cannot generate on val, so QA checkpoints are selected by this instead.
        Metric(
            "answer_nll",
            "mean cross-entropy of the gold answer tokens given the prompt (nats)",
            None,
            greater_is_better=False,
            kind="extractive_qa",
            val_only=True,
            unit="nats",
            label="Answer NLL",
        ),
    )
}


def get_metric(name: str) -> Metric:
    """A registered metric (task files are validated against these names)."""
    return METRICS[name]
