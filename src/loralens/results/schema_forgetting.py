"""The `forgetting` block of results.json: what each run lost of the base model's capabilities."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from loralens.results.schema_base import Fixed, Num


class Probe(Fixed):
    """One forgetting probe of one run."""

    measure: str = Field(description="text_nll, or zero_shot:<task>")
    on: str = Field(description="the probe's task (text or classification)")
    metric: str = Field(description="nll (lower is better) or accuracy")
    value: float
    base: float = Field(description="the base model's value on the same probe")
    change: float = Field(description="value - base (text_nll: > 0 is forgetting)")


class ForgettingRow(Fixed):
    """One run's probes."""

    task: str
    method: str
    seed: int
    artifact: str
    probes: list[Probe]


class ForgettingTest(Fixed):
    """Treatment vs reference on one probe's change across seeds (two-sided Welch, Holm over
    the probes of one task and pair)."""

    task: str
    treatment: str
    reference: str
    measure: str
    treatment_values: list[float]
    reference_values: list[float]
    treatment_mean: Num
    reference_mean: Num
    welch: dict[str, Any] | None = None
    hedges_g: dict[str, Any] | None = None
    p_adjusted: Num = None
    significant: bool | None = None
    not_computed: str | None = None


class Forgetting(Fixed):
    """Forgetting probes: the base model's values, each run's, and the tests."""

    base: dict[str, Any] | None = Field(
        None, description="the base model's probe scores (forgetting-base stage), or null"
    )
    rows: list[ForgettingRow] = Field(default_factory=list)
    tests: list[ForgettingTest] = Field(default_factory=list)
