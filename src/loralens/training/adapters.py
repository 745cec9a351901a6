"""LoRA target presets per architecture and PEFT configs for each method, validated up front."""

from __future__ import annotations

import re

from peft import AdaLoraConfig as PeftAdaLoraConfig
from peft import LoraConfig as PeftLoraConfig
from peft import PeftConfig, TaskType
from torch import nn
from transformers import PreTrainedModel

from loralens.config import RunConfig
from loralens.errors import ConfigError
from loralens.methods import METHODS, get_method
from loralens.models.heads import HEAD_NAMES

# Target presets by architecture family: Llama-style decoders and BERT-style encoders.
PRESETS: dict[str, dict[str, list[str]]] = {
    "llama": {
        "qv": ["q_proj", "v_proj"],
        "qkvo": ["q_proj", "k_proj", "v_proj", "o_proj"],
        "all-linear": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    },
    "bert": {
        "qv": ["query", "value"],
        "qkvo": ["query", "key", "value", "attention.output.dense"],
        "all-linear": ["query", "key", "value", "dense"],
    },
}
FAMILY = {"llama": "llama", "mistral": "llama", "qwen2": "llama", "bert": "bert", "roberta": "bert"}


def linear_module_names(model: nn.Module) -> list[str]:
    """Short names (last path component) of the model's Linear layers outside the head."""
    names = {
        name.split(".")[-1]
        for name, mod in model.named_modules()
        if isinstance(mod, nn.Linear) and not name.startswith(HEAD_NAMES)
    }
    return sorted(names)


def matches_target(module: str, targets: list[str]) -> bool:
    """Whether a module path is, or ends with, one of the target names (PEFT's suffix rule)."""
    return any(module == t or module.endswith("." + t) for t in targets)


def resolve_targets(model: PreTrainedModel, targets: str | list[str]) -> list[str]:
    """Module names for a preset or explicit list; raises listing the modules the model has."""
    available = linear_module_names(model)
    if isinstance(targets, str):
        family = FAMILY.get(model.config.model_type)
        if family is None:
            raise ConfigError(
                f"no target preset for model type '{model.config.model_type}'; give lora.targets "
                f"as a list of module names from: {', '.join(available)}"
            )
        names = PRESETS[family][targets]
    else:
        names = list(targets)
    all_names = [n for n, _ in model.named_modules()]
    missing = [t for t in names if not any(matches_target(n, [t]) for n in all_names)]
    if missing:
        raise ConfigError(
            f"lora.targets {missing} not found in {model.config.model_type}; "
            f"its linear modules are: {', '.join(available)}"
        )
    return names


def head_modules(model: PreTrainedModel) -> list[str]:
    """The classification head module(s), kept fully trainable under LoRA."""
    return [n for n in HEAD_NAMES if hasattr(model, n)]


def task_type(model: PreTrainedModel) -> TaskType:
    """PEFT's task type for the model: a causal LM, else sequence classification."""
    return TaskType.CAUSAL_LM if type(model).__name__.endswith("ForCausalLM") else TaskType.SEQ_CLS


def lora_config(cfg: RunConfig, model: PreTrainedModel, use_dora: bool = False) -> PeftLoraConfig:
    """The PEFT LoraConfig of a run (methods lora, qlora; dora with `use_dora`)."""
    lc = cfg.lora
    targets = resolve_targets(model, lc.targets)
    _check_ranks(model, targets, lc.rank, lc.rank_pattern)
    return PeftLoraConfig(
        task_type=task_type(model),
        r=lc.rank,
        lora_alpha=lc.alpha,
        lora_dropout=lc.dropout,
        target_modules=targets,
        modules_to_save=head_modules(model),
        rank_pattern=dict(lc.rank_pattern),
        alpha_pattern=dict(lc.alpha_pattern),
        use_rslora=lc.use_rslora,
        use_dora=use_dora,
    )


def adalora_config(cfg: RunConfig, model: PreTrainedModel, total_steps: int) -> PeftAdaLoraConfig:
    """The PEFT AdaLoraConfig of a run: the adalora budget schedule over the run's total steps."""
    lc, ac = cfg.lora, cfg.adalora
    _check_adalora(cfg, total_steps)
    targets = resolve_targets(model, lc.targets)
    _check_ranks(model, targets, ac.init_r, {}, label="adalora.init_r")
    return PeftAdaLoraConfig(
        task_type=task_type(model),
        init_r=ac.init_r,
        target_r=ac.target_r,
        tinit=ac.tinit,
        tfinal=ac.tfinal,
        deltaT=ac.delta_t,
        orth_reg_weight=ac.orth_reg_weight,
        total_step=total_steps,
        lora_alpha=lc.alpha,
        lora_dropout=lc.dropout,
        target_modules=targets,
        modules_to_save=head_modules(model),
    )


def peft_config(cfg: RunConfig, model: PreTrainedModel, total_steps: int | None) -> PeftConfig:
    """The PEFT config of an adapter method, validated against the model."""
    builder = get_method(cfg.method).peft_config
    if builder is None:
        with_adapter = ", ".join(n for n, m in METHODS.items() if m.peft_config is not None)
        raise ConfigError(f"method '{cfg.method}' has no adapter; methods with one: {with_adapter}")
    return builder(cfg, model, total_steps)


def _check_adalora(cfg: RunConfig, total_steps: int) -> None:
    """Raise for LoRA settings AdaLoRA ignores and for a schedule PEFT cannot run."""
    lc, ac = cfg.lora, cfg.adalora
    ignored = [
        name
        for name, value in (
            ("lora.rank_pattern", lc.rank_pattern),
            ("lora.alpha_pattern", lc.alpha_pattern),
            ("lora.use_rslora", lc.use_rslora),
        )
        if value
    ]
    if ignored:
        raise ConfigError(
            f"{', '.join(ignored)}: not used by method adalora, which allocates ranks itself "
            "from adalora.init_r down to adalora.target_r; remove it for this run"
        )
    if ac.target_r == ac.init_r:
        raise ConfigError(
            f"adalora.target_r equals adalora.init_r ({ac.init_r}): AdaLoRA has no budget to "
            "reallocate; lower target_r, or use method lora with that rank"
        )
    if ac.tinit + ac.tfinal > total_steps - 2:
        raise ConfigError(
            f"adalora.tinit ({ac.tinit}) + adalora.tfinal ({ac.tfinal}) leave no budgeting phase "
            f"in this run's {total_steps} optimizer steps; AdaLoRA needs tinit + tfinal <= "
            f"{total_steps - 2} (more steps, or smaller tinit/tfinal)"
        )


def _check_ranks(
    model: PreTrainedModel,
    targets: list[str],
    rank: int,
    pattern: dict[str, int],
    *,
    label: str = "LoRA rank",
) -> None:
    """Raise if a rank exceeds min(d_in, d_out) of a target, or a pattern key matches nothing."""
    linears = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    targeted = {
        n: m
        for n, m in linears.items()
        if n.split(".")[-1] in targets or any(n.endswith("." + t) for t in targets)
    }
    for key in pattern:
        if not any(_pattern_matches(key, n) for n in targeted):
            raise ConfigError(
                f"lora.rank_pattern key '{key}' matches no targeted module "
                f"(targets: {', '.join(targets)}); as in PEFT, a key is a regular expression "
                r"matched against the end of a module name, e.g. 'q_proj', 'mlp\..*', "
                r"'layers\.0\.self_attn\.q_proj'"
            )
    for name, mod in targeted.items():
        r = next((v for k, v in pattern.items() if _pattern_matches(k, name)), rank)
        limit = min(mod.in_features, mod.out_features)
        if r > limit:
            raise ConfigError(
                f"{label} {r} for {name} exceeds min(d_in, d_out) = {limit} "
                f"({mod.in_features} -> {mod.out_features})"
            )


def _pattern_matches(key: str, module: str) -> bool:
    """Whether a rank_pattern key selects `module`, by PEFT's rule (peft.utils.get_pattern_key)."""
    try:
        return re.match(rf"(.*\.)?({key})$", module) is not None
    except re.error as exc:
        message = f"lora.rank_pattern key '{key}' is not a regular expression: {exc}"
        raise ConfigError(message) from None
