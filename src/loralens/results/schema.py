"""The results.json contract: pydantic models the analysis validates before writing, and the
report validates on load. `python -m loralens.results.schema` prints docs/results-schema.md.

Records forbid unknown keys, so a producer that changes a record without the schema fails in
the analysis, not later in the report. Only blocks that carry a tool's own open-ended detail (the
serving benchmark's settings, vLLM's load rows and block) allow more keys than the ones named
here, and the report reads none of those extra keys. Every float that can be NaN is written as
null.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

from pydantic import Field

from loralens.config import RunConfig
from loralens.results.schema_base import Fixed, Num, Open
from loralens.results.schema_decisions import Decisions, MetricReading, VariantSettings
from loralens.results.schema_drift import Drift, DriftControl, DriftRow, DriftSummary
from loralens.results.schema_forgetting import Forgetting
from loralens.results.schema_over_baselines import OverBaselines
from loralens.results.schema_serving import ServingGroup
from loralens.results.schema_stats import (
    Anova,
    NotComputed,
    ServingVerdict,
    Statistics,
    Verdict,
)
from loralens.results.schema_tuning import Tuning

__all__ = [
    "SCHEMA_VERSION",
    "Anova",
    "Decisions",
    "DriftControl",
    "DriftRow",
    "DriftSummary",
    "MetricReading",
    "NotComputed",
    "Open",
    "Results",
    "VariantSettings",
    "validate_results",
]

# 2: serving groups, missing stages, decisions; 3: debiased drift, matched steps; 4: every block
# the report reads is typed (data, baselines, serving, sparsity, statistics, verdicts, variants,
# the config as RunConfig), so keys that were free-form are now checked; 5: the per-example
# crossed test, serving verdicts once per serving group; 6: the values tuned on val (tuning);
# 7: forgetting (each run against the base model on probes no run trained on); 8: over_baselines
# (each variant against the baselines), "not applicable" verdicts of models that did not learn;
# 9: serving timed in A-B-A pairs after a warm-up until stable (paired_ratio, warmup, noise_floor),
# part C by the signed-rank test with a Hodges-Lehmann interval; part A by the crossed examples x
# runs test where the metric is a mean of examples, its margin per metric with its unit
# (decisions.margins); statistics.anova per primary metric; 10: how each metric reads
# (decisions.metrics) and each variant's settings as trained (decisions.variants), so the report
# imports no registry; a verdict's metric direction (greater_is_better); 11: seed-to-seed drift
# (drift.seed_pairs, decisions.drift.seed_reference), the scale drift is read on; 12: a serving
# group's verdict speaks for its tasks that learned (serving_verdicts[].speaks_for).
SCHEMA_VERSION = 12


class Study(Fixed):
    """What ran, on what, with which caveats, and when."""

    name: str | None
    config: RunConfig = Field(description="the resolved study config (study.yaml)")
    tasks: list[str] = Field(description="declared task names, in study order")
    methods: list[str] = Field(description="variant names, in study order")
    seeds: list[int]
    model: str
    caveats: list[str] = Field(description="model caveats (quantized weights), budget limits")
    environment: dict[str, Any] = Field(description="`loralens doctor --json` of the analysis")
    started: str = Field(description="ISO 8601 start of the first stage")
    finished: str = Field(description="ISO 8601 time of the analysis")
    wall_time_s: float = Field(description="finished - started, including any pause")
    compute_time_s: float = Field(description="summed stage times")


class MissingStage(Fixed):
    """An upstream stage that did not finish; the parts that need it are inconclusive."""

    stage: str = Field(description="stage id, e.g. serve/2-labels")
    reason: str = Field(description="'failed: <error>' or 'blocked by a failed stage'")


class SplitStats(Fixed):
    """One split of a task's data."""

    size: int
    labels: dict[str, int] = Field(description="examples per label name")
    token_length: dict[str, float] | None = Field(None, description="p50 ... p100 in tokens")
    answerable: int | None = Field(None, description="extractive QA: questions with an answer")


class DataExample(Fixed):
    """A training example as the model reads it."""

    input: str
    label: str | None = Field(description="its label name; None for a task without labels")
    answers: list[str] | None = Field(None, description="extractive QA: gold answers (none: NoAns)")


class DataStats(Fixed):
    """A task's data (`loralens.data.stats.task_stats`)."""

    task: str
    origin: str
    label_names: list[str]
    splits: dict[str, SplitStats]
    duplicates_removed: int
    notes: list[str]
    fingerprint: str = Field(description="sha256 over every split's texts and labels")
    examples: list[DataExample]
    cut: dict[str, CutCounts] | None = Field(
        None, description="classification, per split: inputs cut to max_length by their fields"
    )
    encoded: dict[str, dict[str, int]] | None = Field(
        None,
        description="language modelling and QA, per split: what a run reads of it (test "
        "documents and windows scored; questions, rows and answers lost to max_length)",
    )
    max_length: int | None = Field(None, description="model.max_length the inputs were cut to")
    input: Literal["prompt", "plain"] | None = Field(
        None, description="whether models read the input through the task's prompt (prompt head)"
    )


class CutCounts(Fixed):
    """Inputs of a split cut to max_length (their first fields first, never the cue)."""

    examples: int
    cut: int
    emptied: int = Field(description="inputs that lost a whole field")


class Run(Fixed):
    """One training run (task x variant x seed): metrics.json plus where it came from."""

    task: str
    method: str = Field(description="the variant name (study.methods)")
    base_method: str = Field(description="the registered method the variant uses")
    seed: int
    test: dict[str, float] = Field(description="every metric of the task, on test, once")
    val_best: Num = Field(
        description="the selection metric of the selected checkpoint on val (the primary "
        "metric; extractive QA: answer_nll)"
    )
    selected_step: int
    steps: int
    trainable_params: int = Field(description="AdaLoRA: counted at init_r, before pruning")
    total_params: int
    trainable_share: float
    train_runtime_s: Num
    wall_time_s: float
    train_tokens_per_s: Num
    peak_rss_mb: Num = Field(description="the run's own peak RSS (scope 'run') or the process's")
    peak_rss_scope: str
    peak_gpu_mb: Num
    device: str
    learning_rate: float | None = Field(
        None, description="the rate the run trained at (tuned values applied)"
    )
    head: Literal["prompt", "fresh"] | None = Field(
        None, description="a classifier's head: started at the prompt's label words, or fresh"
    )
    artifact: str = Field(description="the train artifact, relative to the run directory")


class ZeroShotTemplate(Fixed):
    """A prompt template the zero-shot baseline scored on val."""

    template: int
    text: str
    val: dict[str, Num]


class Baseline(Fixed):
    """A baseline scored through the same evaluation path on test."""

    task: str
    name: str = Field(description="majority, random, zero_shot, k_shot (QA) or encoder")
    test: dict[str, Num]
    ci: dict[str, list[Num]] | None = Field(description="95% interval per metric, if any")
    std: dict[str, Num] | None = Field(description="SD over seeds (random, encoder)")
    detail: str
    artifact: str | list[str]
    templates: list[ZeroShotTemplate] | None = Field(None, description="zero_shot: on val")
    model: str | None = Field(None, description="zero_shot: the model prompted")


class SparsityRow(Fixed):
    """ΔW statistics of one adapted matrix of one run (`loralens.sparsity.spectrum`)."""

    task: str
    method: str
    seed: int
    module: str
    layer: int | None
    shape: list[int]
    frobenius_norm: Num
    spectral_norm: Num
    effective_rank: Num
    stable_rank: Num
    energy_rank_90: int | None = Field(description="singular values holding 90% of the energy")
    energy_rank_99: int | None
    numerical_rank: int | None
    lora_rank: int | None = Field(description="the adapter's rank (None: full fine-tuning)")
    rank_utilisation: Num = Field(description="effective_rank / lora_rank")
    energy_rank_90_utilisation: Num
    energy_rank_99_utilisation: Num
    singular_values: list[Num] = Field(description="the largest (up to 16)")
    intruders: dict[str, int] = Field(description="intruder dimensions per epsilon")
    intruders_chance: dict[str, float] | None = Field(
        None, description="per epsilon: the count were the top singular vectors random (shape's)"
    )
    artifact: str


class Sparsity(Fixed):
    """Per-matrix ΔW statistics of every run."""

    rows: list[SparsityRow] = Field(default_factory=list)


class MeanSd(Fixed):
    """Mean, sample SD (None below two values) and count over seeds."""

    mean: Num
    sd: Num
    n: int


class Pareto(Fixed):
    """A variant's place on its task's front of score against cost."""

    cost: str = Field(description="the cost field (trainable_params)")
    metric: str = Field(description="the task's primary metric")
    on_front: bool


class VariantRow(Fixed):
    """One task x variant across seeds (`loralens.results.variants.variant_summary`)."""

    task: str
    method: str = Field(description="the variant")
    base_method: str
    seeds: list[int]
    test: dict[str, MeanSd]
    trainable_params: MeanSd
    trainable_share: MeanSd
    wall_time_s: MeanSd
    peak_rss_mb: MeanSd
    train_tokens_per_s: MeanSd
    artifact: list[str]
    pareto: Pareto


class AdaloraRank(Fixed):
    """The rank AdaLoRA kept in one module of one run."""

    task: str
    method: str
    seed: int
    module: str
    layer: int | None
    module_type: str = Field(description="the module without its layer, e.g. self_attn.q_proj")
    rank: int
    artifact: str


class Variants(Fixed):
    """Every variant side by side, and AdaLoRA's kept ranks."""

    rows: list[VariantRow] = Field(description="per task x variant: means, SDs, Pareto flag")
    adalora_ranks: list[AdaloraRank]


class Results(Fixed):
    """results.json."""

    schema_version: Literal[12]
    study: Study
    missing_stages: list[MissingStage]
    data: dict[str, DataStats] = Field(description="per task: `loralens data stats --json`")
    runs: list[Run]
    baselines: list[Baseline]
    drift: Drift
    serving: list[ServingGroup] = Field(description="one benchmark per adapter group")
    sparsity: Sparsity
    variants: Variants
    statistics: Statistics
    decisions: Decisions
    serving_verdicts: list[ServingVerdict] = Field(
        description="part C per serving group, tested once at alpha (the study-level result)"
    )
    hypotheses: list[Verdict] = Field(
        description="per task and comparison: H = A and (B or C), parts inside"
    )
    tuning: list[Tuning] = Field(
        default_factory=list, description="values tuned on val per task x variant (`hpo.use`)"
    )
    forgetting: Forgetting = Field(
        default_factory=Forgetting, description="each run against the base on unseen probes"
    )
    over_baselines: list[OverBaselines] = Field(
        default_factory=list,
        description="per task x variant: its test score against the baselines (what learned)",
    )

    def metric(self, name: str) -> MetricReading:
        """How metric `name` reads, as the analysis decided (a name it did not know: as
        written, greater is better, a plain number)."""
        fallback = MetricReading(
            label=name.replace("_", " "), greater_is_better=True, percent=False
        )
        return self.decisions.metrics.get(name) or fallback


def validate_results(data: dict[str, Any]) -> Results:
    """The results document as models; raises pydantic's ValidationError naming each problem."""
    return Results.model_validate(data)


if __name__ == "__main__":  # docs/results-schema.md (loralens.results.schema_doc)
    from loralens.results.schema_doc import schema_markdown

    sys.stdout.write(schema_markdown())
