"""The `tuning` block of results.json: values a search tuned on val, as the study's runs used."""

from __future__ import annotations

from pydantic import Field

from loralens.results.schema_base import Fixed


class TrialPoint(Fixed):
    """One finished trial of a search."""

    number: int
    state: str = Field(description="complete or pruned")
    value: float | None = Field(description="val score (a pruned trial's last reported one)")


class Tuning(Fixed):
    """One task x variant's tuned values (`loralens hpo`, applied with `hpo.use: true`)."""

    task: str
    method: str = Field(description="the variant name (study.methods)")
    params: dict[str, float] = Field(description="tuned value per parameter (rank as a number)")
    metric: str = Field(description="the objective: the task's primary metric on val")
    best_val: float = Field(description="the best trial's val score (not a test result)")
    trials: int = Field(description="finished trials of the search (complete or pruned)")
    pruned: int
    file: str = Field(description="the search's result file, relative to the run directory")
    sha256: str = Field(description="of that file, as the study read it")
    history: list[TrialPoint] = Field(description="every finished trial: number, state, val")
    importance: dict[str, float] = Field(description="fANOVA importance per parameter")


def tuning_rows(config: dict) -> list[dict]:
    """The block from the study config's `hpo.tuned` (empty when no search was applied)."""
    tuned = (config.get("hpo") or {}).get("tuned") or {}
    return [
        {"task": task, "method": variant, **values}
        for task, by_variant in tuned.items()
        for variant, values in by_variant.items()
    ]
