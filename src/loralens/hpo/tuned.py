"""Tuned values into the study: read the search's files for `loralens run` (`hpo.use: true`)
and apply a cell's values to its run config (so they enter the run's key and config.yaml)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from loralens.config import RunConfig, deep_merge, validate_config
from loralens.errors import ConfigError
from loralens.hpo.space import TunedValues, overrides

HPO_DIR = "hpo"


def result_path(root: Path, task: str, variant: str) -> Path:
    """Where a search writes the best values of one task and variant."""
    return root / HPO_DIR / task / f"{variant}.json"


def with_params(cfg: RunConfig, params: dict[str, Any]) -> RunConfig:
    """The run config with tuned values applied (validated like any config)."""
    raw = deep_merge(cfg.model_dump(mode="json"), overrides(params))
    return validate_config(raw, source="tuned values")


def tuned_cell(cfg: RunConfig, run: RunConfig, task: str, variant: str) -> RunConfig:
    """A study cell's run config with the values tuned for its task and variant, if any."""
    tuned = cfg.hpo.tuned.get(task, {}).get(variant)
    return run if tuned is None else with_params(run, tuned.params)


def read_tuned(root: Path, path: Path) -> TunedValues:
    """One search result as the values a study applies (with the file's sha256)."""
    blob = path.read_bytes()
    try:
        rec = json.loads(blob)
        return TunedValues(
            params=rec["params"],
            metric=rec["metric"],
            best_val=rec["best_val"],
            trials=rec["trials"]["finished"],
            pruned=rec["trials"]["pruned"],
            file=str(path.relative_to(root)),
            sha256=hashlib.sha256(blob).hexdigest(),
            history=rec.get("history", []),
            importance=rec.get("importance", {}),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path} is not a loralens hpo result ({exc}); rerun `loralens hpo`"
        ) from None


def use_tuned(cfg: RunConfig, root: Path, tasks: list[str]) -> RunConfig:
    """With `hpo.use`, the config carrying every task x variant's tuned values from `root`."""
    if not cfg.hpo.use:
        return cfg
    tuned: dict[str, dict[str, TunedValues]] = {}
    missing = []
    for task in tasks:
        for variant in cfg.study.methods:
            path = result_path(root, task, variant)
            if path.is_file():
                tuned.setdefault(task, {})[variant] = read_tuned(root, path)
            else:
                missing.append(str(path))
    if missing:
        raise ConfigError(
            f"hpo.use: no search result {missing[0]} ({len(missing)} missing); run "
            "`loralens hpo` on this study with the same --out first"
        )
    return cfg.model_copy(update={"hpo": cfg.hpo.model_copy(update={"tuned": tuned})})
