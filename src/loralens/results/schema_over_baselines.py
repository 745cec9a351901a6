"""The `over_baselines` block of results.json: each variant's test score against the baselines."""

from __future__ import annotations

from pydantic import Field

from loralens.results.schema_base import Fixed, Num


class BaselineDifference(Fixed):
    """A variant's mean test score minus one baseline's, with its interval over seeds."""

    baseline: str = Field(description="majority, random or zero_shot")
    baseline_score: float = Field(description="the baseline's test score on the primary metric")
    estimate: float = Field(description="mean test score over seeds - baseline_score")
    ci_low: Num = Field(description="None: no interval (see interval)")
    ci_high: Num
    confidence_level: float = Field(description="1 - 2 alpha: its near bound is a one-sided test")
    p_value: Num = Field(description="one-sided t-test that the variant is better than it")
    interval: str = Field(description="how the interval was obtained, or 'none: <why>'")


class OverBaselines(Fixed):
    """One task x variant's test score on its primary metric against the baselines
    (`loralens.results.over_baselines`)."""

    task: str
    method: str = Field(description="the variant")
    metric: str = Field(description="the task's primary metric")
    greater_is_better: bool
    n_seeds: int
    mean: float = Field(description="mean test score over seeds")
    versus: dict[str, BaselineDifference] = Field(description="per baseline the task has")
    best_baseline: str | None = Field(
        description="the best of majority, random and zero_shot in the metric's direction "
        "(lower-is-better metrics: the smallest); None: the task has none of them"
    )
    over_best: BaselineDifference | None = Field(
        description="the test score minus the best baseline's, with its interval"
    )
    beats_majority: bool | None = Field(
        description="the interval of the difference lies above majority's score (lower-is-better: "
        "below; no interval: the mean); False makes its comparisons 'not applicable'; None: no "
        "majority baseline, not checked"
    )
    below_zero_shot: bool | None = Field(
        description="its mean test score is worse than zero-shot's (None: no zero-shot baseline)"
    )
