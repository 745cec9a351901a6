"""Tasks as data: the registry, raw loaders, fixed splits and dataset statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loralens.data.registry import builtin_tasks, get_task
from loralens.data.sources import load_raw
from loralens.data.spec import Example, Prompt, TaskSpec
from loralens.data.splits import Splits, make_splits

__all__ = ["Example", "Splits", "TaskData", "TaskSpec", "builtin_tasks", "get_task", "load_task"]


@dataclass(frozen=True)
class TaskData:
    """A task's spec, its fixed splits and where the data came from."""

    spec: TaskSpec
    splits: Splits
    origin: str
    # the prompt every model reads the inputs through, whose label words start a prompt head
    # (None: the plain input and a fresh head); see loralens.data.run_task
    prompt: Prompt | None = None
    cut: dict[str, Any] = field(default_factory=dict)  # per split: examples cut to max_length


def load_task(
    name: str,
    data_dir: Path | None = None,
    *,
    val_fraction: float = 0.1,
    test_fraction: float = 0.15,
    split_seed: int = 0,
    max_train: int | None = None,
    max_val: int | None = None,
    max_test: int | None = None,
) -> TaskData:
    """Load a task and carve its fixed splits (independent of any training seed)."""
    spec = get_task(name)
    raw = load_raw(spec, data_dir)
    lm = spec.kind == "language_modeling"  # its budgets count blocks, applied when encoding
    # QA budgets count questions; every question has label 0 (no classes to stratify by)
    splits = make_splits(
        raw.train,
        raw.test,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=split_seed,
        max_train=None if lm else max_train,
        max_val=None if lm else max_val,
        max_test=None if lm else max_test,
        min_classes=2 if spec.kind == "classification" else 1,
    )
    return TaskData(spec=spec, splits=splits, origin=raw.origin)


def load_task_from_config(task_cfg) -> TaskData:
    """load_task with the settings of a TaskConfig section."""
    return load_task(
        task_cfg.name,
        task_cfg.data_dir,
        val_fraction=task_cfg.val_fraction,
        test_fraction=task_cfg.test_fraction,
        split_seed=task_cfg.split_seed,
        max_train=task_cfg.max_train,
        max_val=task_cfg.max_val,
        max_test=task_cfg.max_test,
    )
