"""The search's objective: a trial's config, its training on val, and pruning on val evaluations."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from loralens.config import RunConfig
from loralens.hpo.space import ParamSpec, Space
from loralens.hpo.tuned import with_params

if TYPE_CHECKING:
    import optuna


def sample(trial: optuna.Trial, space: Space) -> dict[str, int | float]:
    """One point of the space, drawn through the trial (so the sampler sees it)."""
    out: dict[str, int | float] = {}
    for name, spec in space.items():
        out[name] = _suggest(trial, name, spec)
    return out


def _suggest(trial: optuna.Trial, name: str, spec: ParamSpec) -> int | float:
    """A categorical choice or a (log-)uniform float."""
    if spec.choices is not None:
        return trial.suggest_categorical(name, spec.choices)
    assert spec.low is not None and spec.high is not None  # ParamSpec checks it
    return trial.suggest_float(name, spec.low, spec.high, log=spec.log)


def val_scores(history: list[dict[str, Any]], metric: str) -> list[tuple[int, float]]:
    """(step, value) of every val evaluation of the primary metric in a Trainer log."""
    key = f"eval_{metric}"
    return [(int(h["step"]), float(h[key])) for h in history if key in h]


def best_val(history: list[dict[str, Any]], metric: str, greater_is_better: bool) -> float:
    """The objective: the best val score of the primary metric (the checkpoint selection picks)."""
    values = [v for _, v in val_scores(history, metric) if math.isfinite(v)]
    if not values:
        raise ValueError(f"the run logged no finite val {metric}; nothing to optimize")
    return max(values) if greater_is_better else min(values)


class PruningCallback(TrainerCallback):
    """Reports each val evaluation to the trial; stops a trial the pruner gives up on."""

    def __init__(self, trial: optuna.Trial, metric: str) -> None:
        self.trial, self.key = trial, f"eval_{metric}"
        self.pruned_at: int | None = None

    def on_evaluate(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw
    ) -> None:
        """trial.report(val score, step); should_prune() stops training."""
        value = (kw.get("metrics") or {}).get(self.key)
        if value is None:
            return
        self.trial.report(float(value), state.global_step)
        if self.trial.should_prune():
            self.pruned_at = state.global_step
            control.should_training_stop = True


Fit = Callable[[RunConfig, Path, list], list[dict[str, Any]]]


def make_objective(
    cfg: RunConfig,
    space: Space,
    folder: Path,
    metric: str,
    greater: bool,
    fit: Fit,
    seeds: list[int] | None = None,
) -> Callable[[optuna.Trial], float]:
    """Objective(trial): sample, train on `fit` (val only) at each of `seeds` (None: the
    config's seed), return the mean of their best val scores. The first seed's evaluations are
    reported to the pruner."""
    import optuna

    def objective(trial: optuna.Trial) -> float:
        params = sample(trial, space)
        scores = []
        for i, seed in enumerate(seeds or [cfg.training.seed]):
            run_cfg = with_params(cfg, params)
            run_cfg = run_cfg.model_copy(
                update={"training": run_cfg.training.model_copy(update={"seed": seed})}
            )
            out = folder / f"trial-{trial.number:04d}" / f"seed-{seed}"
            pruning = PruningCallback(trial, metric)
            try:
                history = fit(run_cfg, out, [pruning] if i == 0 else [])
            finally:
                shutil.rmtree(out.parent, ignore_errors=True)  # trial checkpoints: never reused
            if pruning.pruned_at is not None:
                raise optuna.TrialPruned(f"pruned at step {pruning.pruned_at}")
            scores.append(best_val(history, metric, greater))
        return float(sum(scores) / len(scores))

    return objective
