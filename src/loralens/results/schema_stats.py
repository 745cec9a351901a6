"""The statistics part of the results.json contract: seed-level tests, ANOVA and verdicts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loralens.results.schema_base import Fixed, Num


class NotComputed(Fixed):
    """A statistic the data cannot support, with the reason (never a crash)."""

    not_computed: str


class StatTest(Fixed):
    """A hypothesis test (`loralens.stats.StatResult`)."""

    test: str
    alternative: str
    estimate: Num
    estimate_label: str = Field(description="what the estimate is, e.g. mean(a) - mean(b)")
    ci_low: Num
    ci_high: Num
    confidence_level: Num
    statistic: Num
    p_value: Num
    n: list[int] = Field(description="sample size per group")
    null_value: Num = Field(description="the estimate under H0")


class EffectSize(Fixed):
    """A standardized effect size with its CI (`loralens.stats.effect_size.EffectSize`)."""

    name: str
    estimate: Num
    ci_low: Num
    ci_high: Num
    confidence_level: Num
    ci_method: str
    n: list[int]


class Power(Fixed):
    """Seeds per group a non-inferiority test at the margin would need (planning)."""

    effect_size: Num = Field(description="margin / SD")
    alpha: float
    power: Num
    alternative: str
    n_per_group: int | None = Field(description="None: see note")
    note: str


class McNemar(Fixed):
    """McNemar test of two models of one seed index on the same test examples (description)."""

    test: str
    estimate: Num = Field(description="accuracy(a) - accuracy(b)")
    ci_low: Num
    ci_high: Num
    confidence_level: Num
    statistic: Num
    p_value: Num
    exact: bool
    both_correct: int
    only_a_correct: int
    only_b_correct: int
    both_wrong: int
    n: int


class CrossedTest(Fixed):
    """Test accuracy compared over runs and test examples (`loralens.stats.crossed`)."""

    test: str
    alternative: str
    estimate: Num = Field(description="mean accuracy of the treatment's runs - the reference's")
    ci_low: Num
    ci_high: Num
    confidence_level: Num
    statistic: Num
    df: Num = Field(description="Satterthwaite degrees of freedom")
    p_value: Num
    null_value: Num
    se: Num
    se_runs: Num = Field(description="the standard error's part from run-to-run variation")
    se_examples: Num = Field(description="its part from example-by-variant variation")
    n_runs: list[int] = Field(description="runs per variant")
    n_examples: int


class AnovaRow(Fixed):
    """One term of the two-way ANOVA."""

    term: str
    sum_sq: float
    df: float
    f_value: Num
    p_value: Num
    partial_eta_sq: Num


class Anova(Fixed):
    """Type II two-way ANOVA of the primary metric on method x task."""

    response: str
    factors: list[str]
    n_obs: int
    rows: list[AnovaRow]
    levels: dict[str, list[str]] = Field(description="the methods and tasks it compared")


class Comparison(Fixed):
    """A treatment vs a reference variant on one task's primary metric, across seeds."""

    task: str
    metric: str
    treatment: str = Field(description="the variant tested")
    reference: str = Field(description="the variant it is compared with")
    treatment_values: list[float] = Field(description="its runs' test scores, one per seed")
    reference_values: list[float] = Field(description="the reference's, one per seed")
    unit: str
    welch: StatTest | NotComputed
    mann_whitney: StatTest | NotComputed
    hedges_g: EffectSize | NotComputed
    power: Power | NotComputed
    per_example: CrossedTest | NotComputed = Field(
        description="test accuracy over runs crossed with test examples (inferential)"
    )
    mcnemar_per_seed_pair: list[McNemar | NotComputed]


class Statistics(Fixed):
    """The seed-level comparisons and the ANOVA."""

    accuracy: list[Comparison]
    anova: dict[str, Anova | NotComputed] = Field(
        description="per primary metric: the two-way ANOVA over the tasks that share it"
    )
    thresholds: dict[str, float]


class Verdict(Fixed):
    """A hypothesis verdict (`loralens.stats.Verdict.to_dict()`), per task and comparison."""

    task: str | None = Field(None, description="the task (top-level verdicts)")
    treatment: str | None = Field(None, description="the variant tested (top-level verdicts)")
    reference: str | None = Field(None, description="the variant it is compared with")
    name: str
    estimate: Num
    ci_low: Num
    ci_high: Num
    test: str
    p_value: Num
    p_adjusted: Num
    n_seeds: dict[str, int] = Field(description="seeds per side")
    alpha: float
    status: Literal["supported", "not supported", "inconclusive", "not applicable"] = Field(
        description="'not applicable': a compared model did not beat the majority baseline on "
        "test (`over_baselines`), so the tests decide nothing; the numbers are kept"
    )
    sentence: str
    threshold: Num = Field(None, description="what the estimate is held to")
    components: list[Verdict] = Field(default_factory=list)
    confidence_level: Num = Field(None, description="of the interval shown")
    adjustment: str = Field("", description="how p_adjusted was obtained")
    metric: str = Field(
        "", description="performance part: the primary metric its numbers are in (else empty)"
    )
    greater_is_better: bool = Field(
        True, description="performance part: whether its metric is better when higher"
    )
    part: Literal["performance", "drift", "serving", "hypothesis", "other"] = Field(
        "other", description="which part of H it is (hypothesis: H itself, its parts inside)"
    )
    metric_unit: str = Field(
        "", description="performance part: what a difference of its metric is in (points, nats)"
    )
    not_applicable_reason: str = Field(
        "", description="why the status is 'not applicable' (which model did not learn; else empty)"
    )
    below_zero_shot: list[str] = Field(
        default_factory=list,
        description="per task and comparison: the compared variants whose mean test score on "
        "the primary metric is below the zero-shot baseline's (a flag; the verdict stands)",
    )


class ServingSlice(Fixed):
    """The serving rows part C tested: the report's headline setting."""

    workload: str
    batch_size: int
    k_adapters: int = Field(description="adapters mixed in one batch")
    order: str | None = Field(None, description="how the batch mixes them (round_robin, ...)")


class ServingVerdict(Verdict):
    """Part C tested once for a serving group, alone at alpha; its tasks' H read the same data."""

    group: str = Field(description="the serve stage that measured it")
    tasks: list[str] = Field(description="the tasks whose adapters were served together")
    slice: ServingSlice | None = Field(None, description="the setting tested (None: not timed)")
    speaks_for: list[str] = Field(
        description="its tasks whose models learned (`over_baselines`); none: 'not applicable'"
    )
