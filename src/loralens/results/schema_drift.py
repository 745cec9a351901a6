"""results.json's drift block: per-layer rows, controls, per-run summaries, seed-to-seed drift."""

from __future__ import annotations

from pydantic import Field

from loralens.results.schema_base import Fixed, Num


class DriftRow(Fixed):
    """Drift of one run at one layer, snapshot step and pooling."""

    task: str
    method: str
    seed: int
    step: int
    selected: bool = Field(description="the checkpoint selected on val (labelled, not compared)")
    layer: int
    pooling: str
    cka: Num = Field(None, description="biased CKA (HSIC_0), beside the primary measure")
    cka_debiased: Num = Field(None, description="debiased CKA (HSIC_1): the primary measure")
    cosine: Num = None
    cosine_centered: Num = None
    procrustes: Num = None
    drift: Num = Field(None, description="1 - cka_debiased")
    drift_biased: Num = Field(None, description="1 - cka")
    cka_ci: list[Num] | None = Field(
        None, description="95% delete-one jackknife interval of cka_debiased"
    )
    null_cka_p95: Num = Field(
        None, description="95th percentile of debiased CKA(base, this snapshot's rows shuffled)"
    )
    n: int | None = Field(None, description="probe examples")
    d: int | None = Field(None, description="hidden size")
    top_pc_share: Num = Field(None, description="variance share of the top principal component")
    top_pc_cka_share: Num = Field(
        None, description="its share of linear CKA's weight, λ₁²/Σλ² (flagged above 0.5)"
    )
    top_coord_share: Num = Field(None, description="variance share of the top coordinate")
    top_coord: int | None = Field(None, description="that coordinate")
    length_corr: Num = Field(None, description="its Pearson r with 1/input length")
    note: str | None = Field(None, description="why the measures are missing (undefined CKA)")
    artifact: str


class DriftControl(Fixed):
    """References of a task's probe set per layer and pooling, and the base's diagnostic."""

    task: str
    layer: int
    pooling: str
    self_cka: Num = Field(None, description="debiased CKA of the base with itself (1)")
    random_init_cka: Num = Field(None, description="debiased CKA with a random-init copy")
    random_init_cka_biased: Num = None
    n: int | None = None
    d: int | None = None
    top_pc_share: Num = None
    top_pc_cka_share: Num = None
    dominated: bool = Field(False, description="top_pc_cka_share above the flagged share (0.5)")
    top_coord_share: Num = None
    top_coord: int | None = None
    length_corr: Num = None
    note: str | None = Field(None, description="why the controls are missing")


class DriftSummary(Fixed):
    """One run's mean and maximum drift over layers at one snapshot step and pooling."""

    task: str
    method: str
    seed: int
    pooling: str
    step: int
    selected: bool
    mean_drift: Num = Field(description="mean over layers of 1 - debiased CKA")
    max_drift: Num
    mean_drift_biased: Num = Field(description="mean over layers of 1 - biased CKA")
    layers: int
    dominated_layers: list[int] = Field(
        description="layers where one principal component holds more than half of CKA's weight "
        "(λ₁²/Σλ²)"
    )
    val_score: Num = Field(
        None, description="the task's primary metric on val at this step (None: not evaluated)"
    )


class SeedPairDrift(Fixed):
    """Two seeds of one variant against each other at one snapshot step: the scale drift is
    read on (how much a rerun alone moves the representations)."""

    task: str
    method: str
    pooling: str
    step: int
    seeds: list[int]
    mean_drift: Num = Field(
        description="mean over layers of 1 - debiased CKA between the two seeds' representations"
    )
    layers: int


class Drift(Fixed):
    """Drift rows, controls (once per task), per-run summaries and seed-to-seed drift."""

    rows: list[DriftRow] = Field(default_factory=list)
    controls: list[DriftControl] = Field(default_factory=list)
    summary: list[DriftSummary] = Field(default_factory=list)
    seed_pairs: list[SeedPairDrift] = Field(default_factory=list)
