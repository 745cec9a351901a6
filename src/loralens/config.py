"""Typed, validated run and study configuration: YAML files plus `key.sub=value` overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from loralens.config_sections import (
    VLLM_ENV_PREFIXES,
    AdaLoraConfig,
    ForgettingConfig,
    ProbingConfig,
    ReportConfig,
    Section,
    ServingConfig,
    VllmConfig,
    WandbConfig,
)
from loralens.errors import ConfigError
from loralens.hpo.space import HpoConfig
from loralens.methods import METHODS as _METHOD_REGISTRY
from loralens.suggest import name_problem, unknown_name_message

# The standalone sections are imported from here like every other config name.
__all__ = [
    "VLLM_ENV_PREFIXES",
    "AdaLoraConfig",
    "ForgettingConfig",
    "ProbingConfig",
    "ReportConfig",
    "Section",
    "ServingConfig",
    "VllmConfig",
]

# Training methods by registry name (loralens.methods); variants in a study refer to one of these.
METHODS = tuple(_METHOD_REGISTRY)
TARGET_PRESETS = ("qv", "qkvo", "all-linear")


class ModelConfig(Section):
    """Which model to fine-tune and how inputs are tokenized."""

    name: str = "smollm2-135m"
    max_length: int = Field(64, ge=8, le=32768)
    revision: str | None = None
    # "nf4": the frozen base is loaded in 4-bit NF4 (bitsandbytes) under any adapter method
    # (AdaLoRA on a 4-bit base is the rank-allocation study's "Joint-1"); full fine-tuning refuses.
    quantization: Literal["none", "nf4"] = "none"
    head: Literal["prompt", "fresh"] = Field(
        "prompt",
        description="a decoder's classification head: 'prompt' reads the task's prompt "
        "(task.prompt) and starts from the LM head's rows of its label words, so step 0 is the "
        "zero-shot decision; 'fresh' reads the plain input with a randomly initialised head "
        "(encoders, and tasks that declare no prompt, always take it)",
    )


class TaskConfig(Section):
    """Which task, where its data lives, and the CPU budgets (stratified subsamples)."""

    name: str = "rotten_tomatoes"
    data_dir: Path | None = None
    max_train: int | None = Field(None, ge=2)
    max_val: int | None = Field(None, ge=2)
    max_test: int | None = Field(None, ge=2)
    val_fraction: float = Field(0.1, gt=0.0, lt=0.5)
    test_fraction: float = Field(0.15, gt=0.0, lt=0.5)
    split_seed: int = 0
    prompt: int = Field(
        0, ge=0, description="which of the task's prompts a prompt head reads (0: the first)"
    )


class LoraConfig(Section):
    """LoRA adapter shape: rank, scaling, dropout and target modules (preset or explicit list)."""

    rank: int = Field(8, ge=1)
    alpha: float = Field(16.0, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    targets: str | list[str] = "qv"
    rank_pattern: dict[str, int] = Field(default_factory=dict)
    alpha_pattern: dict[str, float] = Field(default_factory=dict)
    use_rslora: bool = False

    @field_validator("targets")
    @classmethod
    def _known_preset(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, str) and v not in TARGET_PRESETS:
            presets = ", ".join(TARGET_PRESETS)
            raise ValueError(f"must be one of {presets} or a list of module names")
        if isinstance(v, list) and not v:
            raise ValueError("must name at least one module")
        return v


class TrainingConfig(Section):
    """Optimisation settings; every one of them reaches the HF Trainer."""

    learning_rate: float = Field(2e-4, gt=0)
    batch_size: int = Field(16, ge=1)
    eval_batch_size: int = Field(32, ge=1)
    grad_accum: int = Field(1, ge=1)
    epochs: float = Field(1.0, gt=0, le=10_000, allow_inf_nan=False)
    max_steps: int = Field(-1, ge=-1)
    warmup_ratio: float = Field(0.06, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "linear"
    max_grad_norm: float = Field(1.0, gt=0)
    eval_steps: int = Field(50, ge=1)
    early_stopping_patience: int | None = Field(None, ge=1)
    seed: int = 42
    gradient_checkpointing: bool = False
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    logging_steps: int = Field(5, ge=1)

    @field_validator("max_steps")
    @classmethod
    def _not_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("must be -1 (use epochs) or a positive number of steps")
        return v


class StudyConfig(Section):
    """The study matrix: tasks x methods (or named variants) x seeds."""

    tasks: list[str] = Field(default_factory=lambda: ["rotten_tomatoes"], min_length=1)
    methods: list[str] = Field(default_factory=lambda: ["full", "lora"], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [42, 1337, 2024], min_length=1)
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # k_shot: extractive QA only (the base model after k training demonstrations)
    baselines: list[Literal["majority", "random", "zero_shot", "k_shot", "encoder"]] = Field(
        default_factory=lambda: ["majority", "random", "zero_shot", "encoder"]
    )
    encoder_model: str = "minilm-l6"
    encoder_learning_rate: float = Field(1e-4, gt=0)
    forgetting: ForgettingConfig = Field(default_factory=ForgettingConfig)
    learning_rates: Literal["hand", "tuned"] = Field(
        "hand",
        description="how the variants' learning rates were chosen: 'tuned' by `loralens hpo` on "
        "val, one search space for every variant (hpo.space), or set by 'hand'; results.json "
        "records it and the report says it beside the drift verdict",
    )
    tuned_on: list[str] = Field(
        default_factory=list,
        description="with learning_rates: tuned (rates written in the config): the tasks whose "
        "val the search ran on; on any other task the rates read as set by hand. Empty: every "
        "task of the study",
    )
    compare: list[list[str]] = Field(
        default_factory=list,
        description="(treatment, reference) variant pairs, each its own verdict; empty: every "
        "variant that is not full fine-tuning against the first that is",
    )

    @field_validator("tasks", "methods", "seeds")
    @classmethod
    def _distinct(cls, v: list) -> list:
        repeated = sorted({str(x) for x in v if v.count(x) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once; give each once")
        return v

    @model_validator(mode="after")
    def _methods_known(self) -> StudyConfig:
        for name in dict.fromkeys([*self.methods, *self.variants]):
            problem = name_problem("variant", str(name))
            if problem:  # variants name folders and files (train/<task>/<variant>, hpo)
                raise ValueError(problem)
        for m in self.methods:
            if m not in METHODS and m not in self.variants:
                raise ValueError(unknown_name_message("method", m, [*METHODS, *self.variants]))
        for name, spec in self.variants.items():
            base = spec.get("method", "lora")
            if base not in METHODS:
                raise ValueError(unknown_name_message(f"method of variant '{name}'", base, METHODS))
        for pair in self.compare:
            if len(pair) != 2:
                raise ValueError(f"compare: {pair} is not a [treatment, reference] pair")
            for name in pair:
                if name not in self.methods:
                    raise ValueError(
                        f"compare: {name!r} is not in study.methods ({', '.join(self.methods)})"
                    )
            if pair[0] == pair[1]:
                raise ValueError(f"compare: {pair[0]!r} is compared with itself")
        if len({tuple(p) for p in self.compare}) < len(self.compare):
            raise ValueError("compare: a pair is listed more than once")
        return self


class RunConfig(Section):
    """One run (`loralens train`) plus the study it belongs to (`loralens run`)."""

    name: str = "run"
    method: str = "lora"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    executor: Literal["local", "ray"] = "local"
    tracker: Literal["none", "wandb"] = "none"  # local JSON logs are always written
    wandb: WandbConfig = Field(default_factory=WandbConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    task: TaskConfig = Field(default_factory=TaskConfig)
    lora: LoraConfig = Field(default_factory=LoraConfig)
    adalora: AdaLoraConfig = Field(default_factory=AdaLoraConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    probing: ProbingConfig = Field(default_factory=ProbingConfig)
    study: StudyConfig = Field(default_factory=StudyConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    hpo: HpoConfig = Field(default_factory=HpoConfig)

    @field_validator("method")
    @classmethod
    def _known_method(cls, v: str) -> str:
        if v not in METHODS:
            raise ValueError(unknown_name_message("method", v, METHODS))
        return v

    @model_validator(mode="after")
    def _quantized_base_needs_adapter(self) -> RunConfig:
        if self.model.quantization != "none" and not _METHOD_REGISTRY[self.method].saves_adapter:
            with_adapter = ", ".join(n for n, m in _METHOD_REGISTRY.items() if m.saves_adapter)
            raise ValueError(
                f"model.quantization: {self.model.quantization} freezes the base in 4-bit, so "
                f"method '{self.method}' cannot train it; use an adapter method ({with_adapter})"
            )
        return self

    @model_validator(mode="after")
    def _tuned_the_same_way(self) -> RunConfig:
        if self.study.learning_rates != "tuned":
            return self
        spaces = {name: self.hpo.space.get(name) for name in self.study.methods}
        if (
            any(s is None for s in spaces.values())
            or len(
                {repr(sorted((k, v.model_dump()) for k, v in s.items())) for s in spaces.values()}
            )
            != 1
        ):
            raise ValueError(
                "study.learning_rates: tuned says every variant's rate was searched the same "
                f"way; give each of {', '.join(self.study.methods)} the same hpo.space"
            )
        return self

    @model_validator(mode="after")
    def _space_names_known(self) -> RunConfig:
        known = [*METHODS, *self.study.variants]
        for name in self.hpo.space:
            if name not in known:
                raise ValueError(unknown_name_message("hpo.space method or variant", name, known))
        return self

    @property
    def quantized_base(self) -> bool:
        """True when the frozen base is loaded in 4-bit NF4 (model.quantization or qlora)."""
        return self.model.quantization == "nf4" or _METHOD_REGISTRY[self.method].quantized_base


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """Turn ['a.b=1', 'c=x'] into a nested dict, values parsed as YAML scalars or lists."""
    nested: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"override '{item}' is not of the form key.sub=value")
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override '{item}' conflicts with another override of '{part}'")
        node[parts[-1]] = _override_value(item, raw)
    return nested


def _override_value(item: str, raw: str) -> Any:
    """An override's value parsed as YAML (a scalar, [list] or {mapping}); ConfigError if not."""
    if not raw:
        return ""
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(
            f"override '{item}': the value is not valid YAML ({problem}); write a scalar, "
            "a list like [a, b] or a mapping like {k: v}, quoted for the shell"
        ) from None


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Return base with extra merged in recursively (extra wins)."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


MAX_SHOWN = 160  # characters of a wrong value an error line repeats


def _format_error(err: dict[str, Any], model: type[BaseModel]) -> str:
    """One line naming the key, the value given and what is allowed."""
    key = ".".join(str(p) for p in err["loc"]) or "<root>"
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        return unknown_name_message("config key", key, allowed) if allowed else f"unknown key {key}"
    msg = err["msg"].removeprefix("Value error, ")
    if not err["loc"]:  # a rule across keys: the whole config is no help to read
        return msg
    given = repr(err.get("input"))
    if len(given) > MAX_SHOWN:  # a whole section (a rule across its keys): named, not dumped
        return f"'{key}': {msg}"
    return f"'{key}': got {given}; {msg}"


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Dotted names of the keys allowed at `loc` in `model`."""
    node: Any = model
    for part in loc:
        field = getattr(node, "model_fields", {}).get(part)
        if field is None or not isinstance(field.annotation, type):
            return []
        node = field.annotation
    prefix = ".".join(str(p) for p in loc)
    return [f"{prefix}.{k}" if prefix else k for k in getattr(node, "model_fields", {})]


def validate_config(raw: dict[str, Any], source: str = "config") -> RunConfig:
    """Validate a raw dict into a RunConfig or raise ConfigError listing every problem."""
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [_format_error(e, RunConfig) for e in exc.errors()]
        raise ConfigError(f"invalid {source}: " + "; ".join(lines)) from None


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, with a clear error for a missing file or a non-mapping."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        # One line: the parser's problem and where, not its multi-line excerpt of the file.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"config file {path} is not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping, got {type(data).__name__}")
    return data


def load_config(path: Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Load a YAML config (or the defaults), apply `key.sub=value` overrides, check variants."""
    raw = read_yaml(path) if path is not None else {}
    raw = deep_merge(raw, parse_overrides(overrides or []))
    source = str(path) if path else "config"
    if overrides:
        # The bad value may come from the command line, not the file: name both.
        source += " with overrides " + " ".join(overrides)
    config = validate_config(raw, source=source)
    for name in config.study.variants:
        variant_config(config, name)
    return config


def variant_config(config: RunConfig, name: str) -> RunConfig:
    """The run config of a study cell: the base config with a variant (or plain method) applied."""
    update = config.study.variants.get(name, {"method": name})
    raw = deep_merge(config.model_dump(mode="json"), update)
    return validate_config(raw, source=f"variant '{name}'")


def config_to_yaml(config: RunConfig) -> str:
    """Serialize a config to YAML (paths as strings) so that load_config reads it back equal."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
