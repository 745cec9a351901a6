"""Search spaces: what `hpo.space` may tune, its validation, and the defaults per method.

No Optuna or torch here: the config layer imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator, model_validator

from loralens.config_sections import Section
from loralens.suggest import unknown_name_message


@dataclass(frozen=True)
class Tunable:
    """A parameter a search can tune: the config section and key it sets."""

    section: str
    key: str
    adapter_only: bool = False  # meaningful only for methods that train an adapter


TUNABLE: dict[str, Tunable] = {
    "learning_rate": Tunable("training", "learning_rate"),
    "warmup_ratio": Tunable("training", "warmup_ratio"),
    "weight_decay": Tunable("training", "weight_decay"),
    "alpha": Tunable("lora", "alpha", adapter_only=True),
    "dropout": Tunable("lora", "dropout", adapter_only=True),
    "rank": Tunable("lora", "rank", adapter_only=True),
}


class ParamSpec(Section):
    """One dimension: a range [low, high] (log-uniform with `log`) or a list of choices."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[int | float] | None = None

    @model_validator(mode="after")
    def _range_or_choices(self) -> ParamSpec:
        if self.choices is not None:
            if not self.choices or self.low is not None or self.high is not None:
                raise ValueError("give either non-empty choices or low and high, not both")
            return self
        if self.low is None or self.high is None:
            raise ValueError("needs low and high (or choices)")
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-uniform range needs low > 0, got {self.low}")
        return self


Space = dict[str, ParamSpec]


class TrialPoint(Section):
    """One finished trial of a search: its number, state and val score."""

    number: int
    state: str = Field(description="complete or pruned")
    value: float | None = Field(description="val score (a pruned trial's last reported one)")


class TunedValues(Section):
    """The best parameters a search found for one task and variant (`<out>/hpo/...json`)."""

    params: dict[str, int | float]
    metric: str = Field(description="the task's primary metric, on val")
    best_val: float
    trials: int = Field(description="finished trials (complete or pruned)")
    pruned: int
    file: str = Field(description="the search's output, relative to the study folder")
    sha256: str
    history: list[TrialPoint] = Field(
        default_factory=list, description="every finished trial, in order"
    )
    importance: dict[str, float] = Field(
        default_factory=dict, description="Optuna's fANOVA importance per parameter (shares)"
    )


class HpoConfig(Section):
    """`loralens hpo`: Optuna TPE over each method's space, objective on val, then `use`."""

    trials: int = Field(8, ge=1, description="trials per task and method (the same for each)")
    startup_trials: int | None = Field(
        None, ge=1, description="random trials before TPE (None: max(2, trials // 4))"
    )
    seed: int = 0
    seeds: int = Field(
        1,
        ge=1,
        description="training seeds (the study's first ones) each trial trains at; its objective "
        "is the mean of their best val scores",
    )
    pruning: bool = True  # MedianPruner on the intermediate val evaluations
    prune_warmup_evals: int = Field(1, ge=0)  # evaluations a trial runs before it may be pruned
    storage: str | None = None  # None: SQLite in <out>/hpo/optuna.db
    use: bool = False  # `loralens run` applies <out>/hpo/<task>/<variant>.json
    space: dict[str, dict[str, ParamSpec]] = Field(
        default_factory=dict, description="per variant or method name; absent: the defaults"
    )
    tuned: dict[str, dict[str, TunedValues]] = Field(
        default_factory=dict, description="filled by `loralens run` from the search's files"
    )

    @field_validator("space", mode="before")
    @classmethod
    def _known_params(cls, v: Any) -> Any:
        for params in v.values() if isinstance(v, dict) else ():
            for name in params if isinstance(params, dict) else ():
                if name not in TUNABLE:
                    raise ValueError(unknown_name_message("search parameter", name, TUNABLE))
        return v

    @model_validator(mode="after")
    def _startup_below_trials(self) -> HpoConfig:
        if self.startup_trials is not None and self.startup_trials >= self.trials:
            raise ValueError(
                f"hpo.startup_trials ({self.startup_trials}) must be below hpo.trials "
                f"({self.trials}), or TPE never runs"
            )
        return self


def startup_trials(hpo: HpoConfig, trials: int) -> int:
    """Random trials before TPE: the configured number, else max(2, trials // 4), below trials."""
    wanted = hpo.startup_trials if hpo.startup_trials is not None else max(2, trials // 4)
    return max(1, min(wanted, trials - 1))


def default_space(adapter: bool) -> Space:
    """The space used when the study declares none for a method."""
    space = {
        "learning_rate": ParamSpec(low=1e-6, high=1e-3, log=True),
        "warmup_ratio": ParamSpec(low=0.0, high=0.2),
        "weight_decay": ParamSpec(low=0.0, high=0.1),
    }
    if adapter:
        space["learning_rate"] = ParamSpec(low=1e-5, high=1e-2, log=True)
        space["alpha"] = ParamSpec(low=4.0, high=64.0, log=True)
        space["dropout"] = ParamSpec(low=0.0, high=0.2)
        space["rank"] = ParamSpec(choices=[4, 8, 16])
    return space


def space_for(hpo: HpoConfig, variant: str, method: str, adapter: bool) -> Space:
    """A variant's space: declared under its name, else its method's, else the default."""
    space = hpo.space.get(variant, hpo.space.get(method))
    if space is None:
        return default_space(adapter)
    wrong = [n for n in space if TUNABLE[n].adapter_only and not adapter]
    if wrong:
        raise ValueError(
            f"hpo.space.{variant if variant in hpo.space else method}: {', '.join(wrong)} "
            f"tunes an adapter, and method '{method}' trains none"
        )
    return space


def overrides(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Sampled values as nested config updates: {'training': {'learning_rate': ...}, ...}."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in params.items():
        t = TUNABLE[name]
        out.setdefault(t.section, {})[t.key] = value
    return out
