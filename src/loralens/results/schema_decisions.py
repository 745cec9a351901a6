"""results.json's decisions: what the analysis chose once (the drift comparison, margins,
learning rates, how each metric reads, each variant's settings) and the report reads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from loralens.config import RunConfig
from loralens.results.schema_base import Fixed, Num


class SeedReference(Fixed):
    """One variant's seed-to-seed drift at the compared step, beside its drift from the base."""

    method: str
    step: int
    pairs: int = Field(description="pairs of seeds compared")
    mean: Num = Field(description="mean over pairs of seeds of their layer-mean 1 - debiased CKA")
    low: Num = Field(description="the closest pair")
    high: Num = Field(description="the farthest pair")
    from_base: Num = Field(
        None, description="the variant's mean drift from the base at this step (None: not measured)"
    )


class DriftDecision(Fixed):
    """How drift is compared between methods."""

    measure: str
    pooling: str = Field(description="the pooling compared (probing.pooling)")
    step: dict[str, int | None] = Field(
        description="per task: the last snapshot step every run reached (None: not compared)"
    )
    not_compared: dict[str, str] = Field(description="per task without a step: why")
    matched_score: dict[str, MatchedScore] = Field(
        default_factory=dict,
        description="per task: drift where each run first reached a val score every run reached",
    )
    seed_reference: dict[str, list[SeedReference]] = Field(
        default_factory=dict,
        description="per task: each variant's seeds against each other at the compared step",
    )


class MatchedRun(Fixed):
    """One run's drift where it first reached the matched val score."""

    method: str
    seed: int
    drift: Num
    upper_bound: bool = Field(
        description="it had reached the score by its first evaluated snapshot (no val score is "
        "taken at step 0): its drift there is an upper bound"
    )


class MatchedScore(Fixed):
    """Drift against learning: each run read at a val score every run of the task reached."""

    score: Num = Field(description="the best val score every run reached (None: no val scores)")
    runs: list[MatchedRun]
    reason: str = Field(description="why not compared (empty when compared)")


class LearningRates(Fixed):
    """How the variants' learning rates were chosen (study.learning_rates, hpo)."""

    how: Literal["hand", "tuned"]
    values: dict[str, list[float]] = Field(description="per variant: the rates its runs trained at")
    search: dict[str, Any] | None = Field(description="tuned: the search (trials, seeds, space)")
    tuned_on: list[str] | None = Field(
        None, description="tuned: the tasks whose val the search ran on (None: every task)"
    )


class Margin(Fixed):
    """Part A's non-inferiority margin for one task, in its primary metric's own scale."""

    metric: str
    margin: float = Field(ge=0, description="in the metric's scale (fractions for percents)")
    unit: str = Field(description="what a difference is measured in: points, nats, ...")


class MetricReading(Fixed):
    """How a metric reads: its name in reports, its direction, and its scale."""

    label: str = Field(description="its name in reports ('Accuracy', 'SQuAD F1')")
    greater_is_better: bool
    percent: bool = Field(description="a fraction shown as a percentage; differences in points")
    unit: str = Field("", description="of a difference when not percent (nats), else empty")


class VariantSettings(Fixed):
    """One variant as it trained: its method and what its runs were given."""

    method: str = Field(description="its registered method")
    trains_adapter: bool = Field(description="the method saves an adapter (its LoRA keys apply)")
    quantized_base: bool = Field(description="it trains on a 4-bit base")
    config: RunConfig = Field(description="the variant's resolved config")
    learning_rates: list[float] = Field(
        description="the rates its runs trained at (tuned values included), sorted, each once"
    )


class Decisions(Fixed):
    """Choices made once by the analysis; the report reads them and derives none."""

    primary_metric: dict[str, str] = Field(description="per task, from its task file")
    greater_is_better: dict[str, bool] = Field(description="per task, from the metric registry")
    thresholds: dict[str, float] = Field(
        description="the hypothesis thresholds every task shares (alpha, drift, serving)"
    )
    margins: dict[str, Margin] = Field(description="per task: part A's margin and its unit")
    serving_engine: str = Field(description="the multi-adapter engine part C is tested on")
    drift: DriftDecision
    comparisons: list[list[str]] = Field(
        description="(treatment, reference) variant pairs, each with its own verdict per task"
    )
    learning_rates: LearningRates | None = None
    selection_metric: dict[str, str] = Field(
        description="per task: the val score its checkpoints were selected by (val_best)"
    )
    metrics: dict[str, MetricReading] = Field(
        description="every registered metric: how the report shows it (from the registry)"
    )
    variants: dict[str, VariantSettings] = Field(
        description="per variant of the study: its method and settings as its runs trained"
    )
