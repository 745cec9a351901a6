"""The units a study plan is made of: stages, the study cells they work on, the study's tasks,
and what a per-run stage kind's planner is given."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loralens.config import RunConfig


@dataclass(frozen=True)
class Stage:
    """One unit of work: a registered kind applied to a config slice and upstream artifacts."""

    id: str  # readable, unique in the plan: "train/rotten_tomatoes/lora-r8/42"
    kind: str  # stage registry name
    params: dict[str, Any]  # the config slice this stage depends on (JSON-able)
    deps: tuple[str, ...] = ()
    cpus: int = 1
    gpus: float = 0.0
    key: str = field(default="", compare=False)
    # A tolerant stage runs even when some upstream stages failed: it gets the ones that
    # finished, and the others by id with the reason in params["missing"] (another content key).
    tolerant: bool = False
    cell: Cell | None = None  # the study cell a per-run stage belongs to


@dataclass(frozen=True)
class Cell:
    """Which study cell a stage works on: task (declared name), variant and seed."""

    task: str
    variant: str | None = None  # None: a per-task stage (data, control, baselines)
    seed: int | None = None


@dataclass(frozen=True)
class StudyTask:
    """One task of a study: its declared name (the key everywhere) and how to load it."""

    name: str  # the task's declared name: stage ids, results.json and the report use it
    entry: str  # as written in study.tasks: a built-in name or a task YAML path
    num_labels: int
    primary_metric: str  # the task's declared primary metric (registry name)
    kind: str = "classification"  # the task kind (loralens.kinds)


@dataclass(frozen=True)
class RunContext:
    """What a per-run stage kind's planner reads: one trained run of the study."""

    study: RunConfig  # the study's config
    run: RunConfig  # the run's own config (its variant, seed and tuned values resolved)
    task: StudyTask
    cell: Cell
    train_id: str  # the run's train stage
    forgetting_base: Stage | None = None  # the base's forgetting stage, when the study has one

    def stage(self, kind: str, params: dict[str, Any], deps: tuple[str, ...]) -> Stage:
        """A stage of `kind` on this run, named `KIND/TASK/VARIANT/SEED`."""
        cell = self.cell
        sid = f"{kind}/{cell.task}/{cell.variant}/{cell.seed}"
        return Stage(sid, kind, params, deps=deps, cell=cell)


@dataclass(frozen=True)
class VariantContext:
    """What a per-variant stage kind's planner reads: every seed of one variant on one task."""

    study: RunConfig  # the study's config
    run: RunConfig  # a run's config of the variant (its settings resolved; the seed is its last)
    task: StudyTask
    variant: str
    train_ids: dict[int, str]  # seed -> its train stage

    def stage(self, kind: str, params: dict[str, Any], deps: tuple[str, ...]) -> Stage:
        """A stage of `kind` on this variant, named `KIND/TASK/VARIANT`."""
        cell = Cell(self.task.name, self.variant)
        return Stage(f"{kind}/{cell.task}/{cell.variant}", kind, params, deps=deps, cell=cell)


def cell_dict(cell: Cell | None) -> dict[str, Any]:
    """A stage's cell as JSON (empty for study-wide stages such as serving)."""
    return dataclasses.asdict(cell) if cell is not None else {}
