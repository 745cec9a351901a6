"""What the `loralens` command's arguments name: built-in configs, training run folders, and
the task and model names a config uses, all checked before any work starts."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loralens.config import RunConfig

BUILTIN_CONFIGS = Path(__file__).parent / "configs"


def config_path(arg: str | None, default: str | None = None) -> Path | None:
    """A config argument as a path: a file, or the name of a built-in config (quickstart, ...)."""
    name = arg or default
    if name is None:
        return None
    path = Path(name)
    if path.is_file() or name.endswith((".yaml", ".yml")):
        return path
    builtin = BUILTIN_CONFIGS / f"{name}.yaml"
    if builtin.is_file():
        return builtin
    from loralens.errors import ConfigError
    from loralens.suggest import unknown_name_message

    known = [p.stem for p in BUILTIN_CONFIGS.glob("*.yaml")]
    raise ConfigError(
        unknown_name_message("config", name, known)
        + " (or a YAML file; overrides are written key.sub=value)"
    )


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer ≥ `low` (argparse names the flag and exits 2 otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer ≥ {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer ≥ {low}, got {value}")
        return value

    parse.__name__ = f"int ≥ {low}"  # what the generated CLI reference says it takes
    return parse


def float_at_least(low: float) -> Callable[[str], float]:
    """An argparse type: a finite number ≥ `low` (argparse names the flag and exits 2 otherwise)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number ≥ {low:g}, got {text!r}") from None
        if not low <= value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be a finite number ≥ {low:g}, got {value}")
        return value

    parse.__name__ = f"float ≥ {low:g}"  # what the generated CLI reference says it takes
    return parse


def writable_out(path: Path, flag: str = "--out", folder: bool = True) -> Path:
    """`path` if a folder (`folder`) or file can be written there, else one LoralensError naming
    what is in the way, raised before any work (not after it, when saving)."""
    from loralens.errors import LoralensError

    if path.exists() and path.is_dir() != folder:
        want, got = ("a folder", "a file") if folder else ("a file", "a folder")
        raise LoralensError(f"{flag} {path}: {got} is there; give {want}")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise LoralensError(f"{flag} {path}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise LoralensError(f"{flag} {path}: {ancestor} is not writable")
    return path


# A `key.sub=value` override (a path such as runs/a=1 holds a '/' before its '=').
OVERRIDE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_][\w-]*)*=")


def parse_command_line(
    parser: argparse.ArgumentParser, argv: list[str] | None
) -> argparse.Namespace:
    """Parse `argv`, taking config and `key=value` items anywhere on the line, not only before
    the flags (argparse alone leaves those after a flag unrecognized)."""
    args, extra = parser.parse_known_args(argv)
    flags = [x for x in extra if x.startswith("-")]
    if flags or (extra and not hasattr(args, "items")):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if hasattr(args, "items"):  # `--adapters A B key=value`: the override is not an adapter
        for name, value in vars(args).items():
            if name != "items" and isinstance(value, list):
                extra += [v for v in value if OVERRIDE.match(str(v))]
                setattr(args, name, [v for v in value if not OVERRIDE.match(str(v))])
    if extra:
        args.items = [*args.items, *extra]
    return args


def split_config_args(items: list[str]) -> tuple[str | None, list[str]]:
    """Split positional args into an optional config file/name and key=value overrides."""
    if items and "=" not in items[0]:
        return items[0], items[1:]
    return None, items


def training_run_dirs(names: list[str], finished: bool = True) -> list[Path]:
    """The given folders as training runs (finished ones if `finished`), all checked up front.

    A missing folder, a study directory (whose runs are RUN_DIR/artifacts/train-*) or an
    unfinished run is named with what is expected instead.
    """
    from loralens.errors import LoralensError
    from loralens.training.folder import TrainingRun

    dirs = [Path(n) for n in names]
    for d in dirs:
        run = TrainingRun(d)
        if not d.is_dir():
            raise LoralensError(f"{d}: no such directory; give a `loralens train --out` folder")
        if (d / "plan.json").is_file():
            raise LoralensError(
                f"{d} is a study run directory; give its training runs, {d}/artifacts/train-*"
            )
        if not run.exists():
            raise LoralensError(
                f"{d} is not a training run (no config.yaml); give a `loralens train --out` folder"
            )
        if finished and not run.finished():
            raise LoralensError(
                f"{d}: training has not finished (no metrics.json); "
                f"rerun `loralens train ... --out {d}` to resume it"
            )
    return dirs


def check_names(config: RunConfig) -> None:
    """Raise on an unknown task or model name in a config, before any work starts.

    Tasks are the run's and the study's; models the run's, every study method's (a variant may
    change it) and the encoder baseline's. A Hugging Face id or an existing folder passes.
    """
    from loralens.config import variant_config
    from loralens.data import get_task
    from loralens.models.registry import REGISTRY, resolve_model

    for task in dict.fromkeys([config.task.name, *config.study.tasks]):
        get_task(task)
    models = [config.model.name]
    models += [variant_config(config, m).model.name for m in config.study.methods]
    if "encoder" in config.study.baselines:
        models.append(config.study.encoder_model)
    for name in dict.fromkeys(models):
        if name not in REGISTRY:
            resolve_model(name)
