"""The task registry: built-in tasks are YAML files in tasks/; a YAML path names a custom one."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from loralens.data.spec import TaskSpec
from loralens.errors import DataError
from loralens.suggest import unknown_name_message

TASK_DIR = Path(__file__).parent / "tasks"


@cache
def builtin_tasks() -> dict[str, TaskSpec]:
    """Every task declared in data/tasks/*.yaml, by name."""
    specs = (read_task_file(p) for p in sorted(TASK_DIR.glob("*.yaml")))
    return {s.name: s for s in specs}


def read_task_file(path: Path) -> TaskSpec:
    """Parse and validate one task YAML file."""
    if not path.is_file():
        raise DataError(f"task file not found: {path}")
    try:
        spec = TaskSpec.model_validate(yaml.safe_load(path.read_text()))
    except ValidationError as exc:
        problems = "; ".join(f"'{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors())
        raise DataError(f"invalid task file {path}: {problems}") from None
    return _anchor_files(spec, path.parent)


def _anchor_files(spec: TaskSpec, folder: Path) -> TaskSpec:
    """Resolve a custom task's relative data paths against the folder of its YAML file."""
    src = spec.source
    if src.kind != "file":
        return spec
    update = {
        k: str((folder / v).resolve())
        for k, v in (("file", src.file), ("test_file", src.test_file))
        if v and not Path(v).is_absolute()
    }
    return spec.model_copy(update={"source": src.model_copy(update=update)})


def get_task(name: str) -> TaskSpec:
    """A built-in task by name, or a custom task from a YAML file path."""
    if name.endswith((".yaml", ".yml")):
        return read_task_file(Path(name))
    tasks = builtin_tasks()
    if name not in tasks:
        raise DataError(unknown_name_message("task", name, tasks))
    return tasks[name]
