"""`loralens hpo`: one Optuna search per task x method, on val, with the same budget for each."""

from __future__ import annotations

import shutil
import statistics
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loralens.config import RunConfig
from loralens.errors import ConfigError, LoralensError
from loralens.hpo.space import Space, space_for, startup_trials
from loralens.hpo.storage import default_url, open_storage, shown_url
from loralens.hpo.tuned import HPO_DIR, result_path
from loralens.kinds import selection_metric
from loralens.methods import get_method
from loralens.study.plan import cell_config, study_tasks
from loralens.study.units import StudyTask
from loralens.suggest import unknown_name_message
from loralens.task_metrics import get_metric
from loralens.training.folder import write_json


@dataclass(frozen=True)
class Search:
    """One search: a task, a variant, its base run config and its space."""

    task: StudyTask
    variant: str
    config: RunConfig
    space: Space

    @property
    def name(self) -> str:
        """The Optuna study name (unique per study, task and variant in a shared storage)."""
        return f"{self.config.name}/{self.task.name}/{self.variant}"


def plan_searches(cfg: RunConfig, tasks: list[str] | None, methods: list[str] | None) -> list:
    """Every task x variant to tune (all of the study's, or the ones named), spaces checked."""
    known = study_tasks(cfg)
    for name in tasks or []:
        if name not in {t.name for t in known}:
            raise ConfigError(f"--task {name!r} is not a task of this study ({_names(known)})")
    for name in methods or []:
        if name not in cfg.study.methods:
            raise ConfigError(
                unknown_name_message("variant", name, cfg.study.methods)
                + " (--method takes a variant of study.methods)"
            )
    seed = cfg.study.seeds[0]  # searches tune at the study's first seed(s) (hpo.seeds)
    out = []
    for task in known:
        for variant in cfg.study.methods:
            if (tasks and task.name not in tasks) or (methods and variant not in methods):
                continue
            run = cell_config(cfg, task.entry, variant, seed).model_copy(update={"name": cfg.name})
            adapter = get_method(run.method).saves_adapter
            try:
                space = space_for(cfg.hpo, variant, run.method, adapter)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            out.append(Search(task, variant, run, space))
    return out


def _names(tasks: list[StudyTask]) -> str:
    return ", ".join(t.name for t in tasks)


def run_searches(
    cfg: RunConfig, root: Path, searches: list[Search], storage_url: str | None
) -> list[dict[str, Any]]:
    """Run each search to `hpo.trials` finished trials; write its result file and plots."""
    hpo_dir = root / HPO_DIR
    if storage_url is None:
        try:
            hpo_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LoralensError(f"cannot create {hpo_dir}: {exc.strerror}") from None
    url = storage_url or default_url(hpo_dir)
    storage = open_storage(url)
    return [run_search(s, storage, shown_url(url), root) for s in searches]


def run_search(search: Search, storage, url: str, root: Path) -> dict[str, Any]:
    """Top the search up to `hpo.trials` finished trials, then record its best values."""
    import optuna

    from loralens.hpo.objective import make_objective
    from loralens.hpo.plots import write_plots
    from loralens.training.run import fit_on_val

    cfg, hpo = search.config, search.config.hpo
    metric = selection_metric(search.task.primary_metric)  # the val score training selects by
    greater = get_metric(metric).greater_is_better
    startup = startup_trials(hpo, hpo.trials)
    study = optuna.create_study(
        storage=storage,
        sampler=optuna.samplers.TPESampler(seed=hpo.seed, n_startup_trials=startup),
        pruner=pruner(cfg, startup),
        study_name=search.name,
        direction="maximize" if greater else "minimize",
        load_if_exists=True,  # a killed or shared search continues
    )
    # A seeded sampler restarted on a resumed search would draw its first points again: seed it
    # past the trials the storage already holds (a fresh search keeps hpo.seed).
    study.sampler = optuna.samplers.TPESampler(
        seed=hpo.seed + len(study.trials), n_startup_trials=startup
    )
    target = result_path(root, search.task.name, search.variant)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = target.parent / f"{search.variant}-trials"
    _fail_killed_trials(study, folder)
    todo = max(0, hpo.trials - len(_finished(study)))
    seeds = cfg.study.seeds[: hpo.seeds]  # the objective averages these seeds' runs
    objective = make_objective(cfg, search.space, folder, metric, greater, fit_on_val, seeds)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.optimize(objective, n_trials=todo, gc_after_trial=True)
    record = result_record(search, study, url, startup, todo)
    record["plots"] = write_plots(study, target.parent, search.variant)
    _remove_empty(folder)
    write_json(target, record)
    return {**record, "file": str(target)}


def pruner(cfg: RunConfig, startup: int):
    """MedianPruner after `startup` trials and `prune_warmup_evals` val evaluations (or none)."""
    import optuna

    if not cfg.hpo.pruning:
        return optuna.pruners.NopPruner()
    k = cfg.hpo.prune_warmup_evals
    warmup = k * cfg.training.eval_steps + 1 if k else 0  # reports come at eval_steps multiples
    return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=warmup)


def _finished(study) -> list:
    """Trials that count against the budget: complete or pruned."""
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def result_record(search: Search, study, url: str, startup: int, ran: int) -> dict[str, Any]:
    """The search's result file: best values on val, trial counts, sampler and space."""
    from optuna.trial import TrialState

    done = _finished(study)
    complete = [t for t in done if t.state == TrialState.COMPLETE]
    if not complete:
        raise LoralensError(f"search {search.name}: no trial completed (all were pruned)")
    best = study.best_trial
    seconds = [(t.datetime_complete - t.datetime_start).total_seconds() for t in done]
    return {
        "task": search.task.name,
        "variant": search.variant,
        "method": search.config.method,
        "metric": selection_metric(search.task.primary_metric),
        "split": "val",
        "direction": study.direction.name.lower(),
        "params": best.params,
        "best_val": best.value,
        "best_trial": best.number,
        "trials": {
            "finished": len(done),
            "complete": len(complete),
            "pruned": len(done) - len(complete),
            "ran_here": ran,
            "budget": search.config.hpo.trials,
        },
        "seconds_per_trial": statistics.median(seconds) if seconds else None,
        "study_name": search.name,
        "storage": url,
        "sampler": {"name": "TPESampler", "seed": search.config.hpo.seed, "startup": startup},
        "pruner": type(study.pruner).__name__,
        "tuned_at_seed": search.config.training.seed,
        "tuned_at_seeds": search.config.study.seeds[: search.config.hpo.seeds],
        "space": {k: v.model_dump(exclude_none=True) for k, v in search.space.items()},
        "history": [
            {"number": t.number, "state": t.state.name.lower(), "value": _value(t)} for t in done
        ],
        **importance(study),
    }


def _value(trial) -> float | None:
    """A trial's objective: its final value, or a pruned trial's last reported val score."""
    if trial.value is not None:
        return float(trial.value)
    reported = trial.intermediate_values
    return float(reported[max(reported)]) if reported else None


def importance(study) -> dict[str, Any]:
    """{"importance": param -> share} from Optuna's fANOVA evaluator, or why it was not
    computed (it needs complete trials that vary the parameters)."""
    import optuna

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shares = optuna.importance.get_param_importances(study)
    except (ValueError, RuntimeError) as exc:
        return {"importance": {}, "importance_not_computed": str(exc)}
    return {"importance": {k: float(v) for k, v in shares.items()}}


def _fail_killed_trials(study, folder: Path) -> None:
    """Mark trials whose process died (heartbeat stale) failed, so they leave the budget and are
    run again, and remove what they left on disk."""
    import optuna
    from optuna.trial import TrialState

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        shutil.rmtree(folder / f"trial-{t.number:04d}", ignore_errors=True)


def _remove_empty(folder: Path) -> None:
    """Drop the trials folder once its trials have cleaned up after themselves."""
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
