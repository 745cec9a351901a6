"""Searches on a stubbed trainer: budget, sampler and pruner settings, resume, storage errors,
and tuned values entering the study's run keys."""

import json
from pathlib import Path

import optuna
import pytest

from loralens.config import load_config
from loralens.errors import ConfigError, LoralensError
from loralens.hpo import run as hpo_run
from loralens.hpo.storage import open_storage
from loralens.hpo.tuned import use_tuned
from loralens.study.plan import plan_study

STUDY = [
    "name=unit",
    "study.methods=[full,lora]",
    "study.seeds=[3]",
    "study.baselines=[]",
    "serving.engines=[]",
]


@pytest.fixture
def stub_fit(monkeypatch: pytest.MonkeyPatch) -> list:
    """Replace training by a val score that prefers learning rates near 1e-4."""
    import loralens.training.run as training

    calls: list = []

    def fit(cfg, out: Path, callbacks: list) -> list[dict]:
        calls.append(cfg)
        score = 1.0 - abs(cfg.training.learning_rate - 1e-4)
        return [{"step": 1, "eval_accuracy": score}]

    monkeypatch.setattr(training, "fit_on_val", fit)
    return calls


def test_each_method_gets_the_same_budget_and_a_resumed_search_tops_it_up(
    tmp_path: Path, stub_fit: list
) -> None:
    cfg = load_config(None, [*STUDY, "hpo.trials=4"])
    records = hpo_run.run_searches(cfg, tmp_path, hpo_run.plan_searches(cfg, None, None), None)
    assert [(r["variant"], r["trials"]["finished"]) for r in records] == [("full", 4), ("lora", 4)]
    assert all(r["sampler"]["startup"] == 2 and r["split"] == "val" for r in records)
    assert {c.training.seed for c in stub_fit} == {3}  # tuned at the study's first seed
    saved = json.loads((tmp_path / "hpo/rotten_tomatoes/lora.json").read_text())
    assert set(saved["params"]) == {"learning_rate", "warmup_ratio", "weight_decay"} | {
        "alpha",
        "dropout",
        "rank",
    }
    again = load_config(None, [*STUDY, "hpo.trials=6"])
    searches = hpo_run.plan_searches(again, None, ["lora"])
    (record,) = hpo_run.run_searches(again, tmp_path, searches, None)
    assert record["trials"] == {
        "finished": 6,
        "complete": 6,
        "pruned": 0,
        "ran_here": 2,
        "budget": 6,
    }


def test_a_search_resumed_in_its_random_start_draws_new_points(
    tmp_path: Path, stub_fit: list
) -> None:
    """A seeded sampler restarted on a killed search would draw its first points again."""
    for trials, startup in ((2, 1), (4, 3)):  # resumed while its sampler is still random
        cfg = load_config(None, [*STUDY, f"hpo.trials={trials}", f"hpo.startup_trials={startup}"])
        hpo_run.run_searches(cfg, tmp_path, hpo_run.plan_searches(cfg, None, ["lora"]), None)
    rates = [c.training.learning_rate for c in stub_fit]
    assert len(rates) == 4 and len(set(rates)) == 4


def test_the_sampler_is_tpe_with_few_startup_trials_and_the_pruner_median(tmp_path: Path) -> None:
    cfg = load_config(None, [*STUDY, "hpo.trials=12", "training.eval_steps=5"])
    pruner = hpo_run.pruner(cfg, 3)
    assert isinstance(pruner, optuna.pruners.MedianPruner)
    assert pruner._n_startup_trials == 3 and pruner._n_warmup_steps == 6  # after one eval
    off = load_config(None, [*STUDY, "hpo.pruning=false"])
    assert isinstance(hpo_run.pruner(off, 3), optuna.pruners.NopPruner)


def test_names_outside_the_study_are_refused() -> None:
    cfg = load_config(None, STUDY)
    with pytest.raises(ConfigError, match=r"unknown variant 'dora'.*a variant of study\.methods"):
        hpo_run.plan_searches(cfg, None, ["dora"])
    with pytest.raises(ConfigError, match="--task 'mrpc' is not a task of this study"):
        hpo_run.plan_searches(cfg, ["mrpc"], None)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-folder/x/optuna.db",
        "sqlite:///file:{tmp}/absent.db?mode=ro&uri=true",
        "postgresql://user:secret@127.0.0.1:1/db",
        "not a url",
    ],
)
def test_an_unreachable_or_read_only_storage_is_one_line(tmp_path: Path, url: str) -> None:
    with pytest.raises(LoralensError, match="cannot be opened for writing") as err:
        open_storage(url.format(tmp=tmp_path))
    assert "\n" not in str(err.value) and "secret" not in str(err.value)


def test_a_tuned_value_enters_the_run_key_and_config(tmp_path: Path, stub_fit: list) -> None:
    cfg = load_config(None, [*STUDY, "hpo.trials=3"])
    hpo_run.run_searches(cfg, tmp_path, hpo_run.plan_searches(cfg, None, None), None)
    used = use_tuned(
        cfg.model_copy(update={"hpo": cfg.hpo.model_copy(update={"use": True})}),
        tmp_path,
        ["rotten_tomatoes"],
    )
    tuned = used.hpo.tuned["rotten_tomatoes"]["lora"]
    plain = {s.id: s for s in plan_study(cfg)}
    keyed = {s.id: s for s in plan_study(used)}
    sid = "train/rotten_tomatoes/lora/3"
    assert keyed[sid].key != plain[sid].key
    assert keyed[sid].params["training"]["learning_rate"] == tuned.params["learning_rate"]
    assert keyed[sid].params["lora"]["rank"] == tuned.params["rank"]


def test_using_tuned_values_without_a_search_is_refused(tmp_path: Path) -> None:
    cfg = load_config(None, [*STUDY, "hpo.use=true"])
    with pytest.raises(ConfigError, match=r"hpo\.use: no search result .*full\.json \(2 missing\)"):
        use_tuned(cfg, tmp_path, ["rotten_tomatoes"])


def test_a_trial_whose_process_died_is_failed_cleaned_and_run_again(
    tmp_path: Path, stub_fit: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -9 during a trial left it RUNNING for ever with its checkpoints on disk: once its
    heartbeat is stale, the next search marks it failed, removes its folder and runs the
    budget's trial again."""
    import time

    from loralens.hpo import storage as hpo_storage
    from loralens.hpo.storage import default_url

    monkeypatch.setattr(hpo_storage, "STALE_AFTER_S", 1)
    cfg = load_config(None, [*STUDY, "hpo.trials=2"])
    (search,) = hpo_run.plan_searches(cfg, None, ["lora"])
    (tmp_path / "hpo").mkdir()
    storage = open_storage(default_url(tmp_path / "hpo"))
    study = optuna.create_study(storage=storage, study_name=search.name, direction="maximize")
    killed = study.ask()  # a trial started, then its process died
    storage.record_heartbeat(killed._trial_id)
    left = tmp_path / "hpo" / "rotten_tomatoes" / "lora-trials" / "trial-0000" / "seed-3"
    left.mkdir(parents=True)
    time.sleep(2.5)  # the database clock counts whole seconds
    (record,) = hpo_run.run_searches(cfg, tmp_path, [search], None)
    states = [t.state for t in optuna.load_study(study_name=search.name, storage=storage).trials]
    assert states[0] == optuna.trial.TrialState.FAIL
    assert record["trials"]["finished"] == 2 and len(stub_fit) == 2
    assert not left.parent.exists()
