"""The objective reads val's primary metric only; pruning stops a trial; sampled values reach
the config the training receives."""

from pathlib import Path

import optuna
import pytest
from transformers import TrainerControl, TrainerState

from loralens.config import RunConfig, load_config
from loralens.hpo.objective import PruningCallback, best_val, make_objective, val_scores
from loralens.hpo.space import default_space

HISTORY = [
    {"step": 1, "loss": 0.7},
    {"step": 2, "eval_accuracy": 0.6, "eval_loss": 0.69},
    {"step": 4, "eval_accuracy": 0.75, "eval_loss": 0.66},
    {"step": 4, "test_accuracy": 0.99, "accuracy": 0.98},  # never the objective
    {"step": 6, "eval_accuracy": 0.7, "eval_loss": 0.5},
]


def test_the_objective_is_the_best_val_score_of_the_primary_metric() -> None:
    assert val_scores(HISTORY, "accuracy") == [(2, 0.6), (4, 0.75), (6, 0.7)]
    assert best_val(HISTORY, "accuracy", greater_is_better=True) == 0.75
    assert best_val(HISTORY, "loss", greater_is_better=False) == 0.5
    with pytest.raises(ValueError, match="no finite val mcc"):
        best_val(HISTORY, "mcc", greater_is_better=True)


class FakeTrial:
    """Records reports; prunes from a given step on."""

    def __init__(self, prune_from: int) -> None:
        self.reports: list[tuple[float, int]] = []
        self.prune_from = prune_from

    def report(self, value: float, step: int) -> None:
        self.reports.append((value, step))

    def should_prune(self) -> bool:
        return self.reports[-1][1] >= self.prune_from


def test_pruning_reports_each_val_evaluation_and_stops_training() -> None:
    trial = FakeTrial(prune_from=4)
    callback = PruningCallback(trial, "accuracy")  # type: ignore[arg-type]
    control = TrainerControl()
    for step, metrics in [(2, {"eval_accuracy": 0.6}), (4, {"eval_accuracy": 0.55})]:
        state = TrainerState(global_step=step)
        callback.on_evaluate(None, state, control, metrics=metrics)  # type: ignore[arg-type]
    assert trial.reports == [(0.6, 2), (0.55, 4)]
    assert control.should_training_stop and callback.pruned_at == 4


def test_sampled_values_reach_the_config_given_to_training(tmp_path: Path) -> None:
    seen: list[RunConfig] = []

    def fit(cfg: RunConfig, out: Path, callbacks: list) -> list[dict]:
        seen.append(cfg)
        (out / "checkpoints").mkdir(parents=True)  # removed after the trial
        return [{"step": 1, "eval_accuracy": cfg.lora.alpha / 100}]

    cfg = load_config(None, ["method=lora"])
    space = default_space(adapter=True)
    objective = make_objective(cfg, space, tmp_path, "accuracy", True, fit)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(objective, n_trials=3)
    for trial, run in zip(study.trials, seen, strict=True):
        p = trial.params
        assert run.training.learning_rate == p["learning_rate"]
        assert run.training.warmup_ratio == p["warmup_ratio"]
        assert run.training.weight_decay == p["weight_decay"]
        assert (run.lora.alpha, run.lora.dropout, run.lora.rank) == (
            p["alpha"],
            p["dropout"],
            p["rank"],
        )
        assert trial.value == pytest.approx(p["alpha"] / 100)
    assert not list(tmp_path.iterdir())  # no trial folder is left behind


def test_a_pruned_trial_is_recorded_as_pruned(tmp_path: Path) -> None:
    def fit(cfg: RunConfig, out: Path, callbacks: list) -> list[dict]:
        (pruning,) = callbacks
        pruning.pruned_at = 3
        return [{"step": 3, "eval_accuracy": 0.1}]

    objective = make_objective(
        load_config(None), default_space(True), tmp_path, "accuracy", True, fit
    )
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=1)
    assert study.trials[0].state == optuna.trial.TrialState.PRUNED


def test_the_objective_is_the_mean_over_its_seeds(tmp_path: Path) -> None:
    seen: list[int] = []

    def fit(cfg: RunConfig, out: Path, callbacks: list) -> list[dict]:
        seen.append(cfg.training.seed)
        assert len(callbacks) == (1 if len(seen) % 2 else 0)  # the first seed is pruned on
        return [{"step": 1, "eval_accuracy": 0.5 + cfg.training.seed / 1000}]

    space = {"learning_rate": default_space(True)["learning_rate"]}
    objective = make_objective(load_config(None), space, tmp_path, "accuracy", True, fit, [1, 3])
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=2)
    assert seen == [1, 3, 1, 3]
    assert study.trials[0].value == pytest.approx(0.502)  # mean of 0.501 and 0.503
    assert not list(tmp_path.iterdir())
