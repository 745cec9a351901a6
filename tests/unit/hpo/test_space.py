"""Search spaces: parsing, validation, defaults per method, sampler budget, tuned overrides."""

import pytest
from pydantic import ValidationError

from loralens.config import load_config
from loralens.errors import ConfigError
from loralens.hpo.space import (
    HpoConfig,
    ParamSpec,
    default_space,
    overrides,
    space_for,
    startup_trials,
)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"low": 0.1, "high": 0.001}, r"low \(0.1\) is above high \(0.001\)"),
        ({"low": 0.0, "high": 1.0, "log": True}, "log-uniform range needs low > 0"),
        ({"low": 1.0}, "needs low and high"),
        ({"choices": []}, "non-empty choices"),
        ({"choices": [4, 8], "low": 1.0, "high": 2.0}, "not both"),
    ],
)
def test_a_bad_dimension_is_refused_with_its_reason(spec: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ParamSpec.model_validate(spec)


def test_a_study_file_space_is_parsed_into_typed_dimensions() -> None:
    cfg = load_config(
        None,
        [
            "hpo.space.lora.learning_rate={low: 1e-5, high: 1e-2, log: true}",
            "hpo.space.lora.rank={choices: [4, 8]}",
            "hpo.trials=6",
        ],
    )
    space = cfg.hpo.space["lora"]
    assert space["learning_rate"] == ParamSpec(low=1e-5, high=1e-2, log=True)
    assert space["rank"].choices == [4, 8] and cfg.hpo.trials == 6


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("hpo.space.lora.lr={low: 1, high: 2}", "unknown search parameter 'lr'"),
        ("hpo.space.lora.learning_rate={low: 0.1, high: 0.001}", "low \\(0.1\\) is above high"),
        ("hpo.space.lorax.alpha={low: 1, high: 2}", "unknown hpo.space method or variant 'lorax'"),
        ("hpo.trials=0", "'hpo.trials': got 0"),
        ("hpo.trials=-3", "'hpo.trials': got -3"),
    ],
)
def test_bad_hpo_input_is_one_config_error_line(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        load_config(None, [override])
    assert "\n" not in str(err.value)


def test_defaults_tune_the_adapter_only_for_adapter_methods() -> None:
    full, lora = default_space(adapter=False), default_space(adapter=True)
    assert set(full) == {"learning_rate", "warmup_ratio", "weight_decay"}
    assert set(lora) == set(full) | {"alpha", "dropout", "rank"}
    assert lora["learning_rate"].log and lora["rank"].choices == [4, 8, 16]
    hpo = HpoConfig()
    assert space_for(hpo, "full", "full", adapter=False) == full


def test_a_variant_space_wins_over_its_method_and_adapter_params_need_an_adapter() -> None:
    hpo = HpoConfig.model_validate(
        {
            "space": {
                "lora": {"rank": {"choices": [2]}},
                "lora-r4": {"alpha": {"low": 1, "high": 2}},
                "full": {"dropout": {"low": 0, "high": 0.1}},
            }
        }
    )
    assert set(space_for(hpo, "lora-r4", "lora", adapter=True)) == {"alpha"}
    assert set(space_for(hpo, "lora-r8", "lora", adapter=True)) == {"rank"}
    with pytest.raises(ValueError, match="dropout tunes an adapter, and method 'full'"):
        space_for(hpo, "full", "full", adapter=False)


@pytest.mark.parametrize("trials", [2, 3, 4, 8, 20, 100])
def test_tpe_starts_after_a_few_random_trials_well_below_the_budget(trials: int) -> None:
    k = startup_trials(HpoConfig(), trials)
    assert 1 <= k < trials
    assert k == min(max(2, trials // 4), trials - 1)


def test_startup_trials_at_or_above_the_budget_are_refused() -> None:
    assert startup_trials(HpoConfig(trials=10, startup_trials=3), 10) == 3
    with pytest.raises(ValidationError, match=r"must be below hpo\.trials"):
        HpoConfig(trials=4, startup_trials=4)


def test_tuned_values_map_to_their_config_sections() -> None:
    got = overrides({"learning_rate": 1e-4, "rank": 8, "alpha": 16.0, "warmup_ratio": 0.1})
    assert got == {
        "training": {"learning_rate": 1e-4, "warmup_ratio": 0.1},
        "lora": {"rank": 8, "alpha": 16.0},
    }
