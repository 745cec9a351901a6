"""LoRA target presets per architecture and PEFT configs for each method, validated up front."""

from __future__ import annotations

from peft import LoraConfig as PeftLoraConfig
from peft import TaskType
from torch import nn
from transformers import PreTrainedModel

from loralens.config import RunConfig
from loralens.errors import ConfigError

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
HEAD_NAMES = ("score", "classifier")


def linear_module_names(model: nn.Module) -> list[str]:
    """Short names (last path component) of the model's Linear layers outside the head."""
    names = {
        name.split(".")[-1]
        for name, mod in model.named_modules()
        if isinstance(mod, nn.Linear) and not name.startswith(HEAD_NAMES)
    }
    return sorted(names)


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
    missing = [t for t in names if not any(n == t or n.endswith("." + t) for n in all_names)]
    if missing:
        raise ConfigError(
            f"lora.targets {missing} not found in {model.config.model_type}; "
            f"its linear modules are: {', '.join(available)}"
        )
    return names


def head_modules(model: PreTrainedModel) -> list[str]:
    """The classification head module(s), kept fully trainable under LoRA."""
    return [n for n in HEAD_NAMES if hasattr(model, n)]


def lora_config(cfg: RunConfig, model: PreTrainedModel) -> PeftLoraConfig:
    """The PEFT LoraConfig of a run (method lora or qlora)."""
    lc = cfg.lora
    targets = resolve_targets(model, lc.targets)
    _check_ranks(model, targets, lc.rank, lc.rank_pattern)
    return PeftLoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=lc.rank,
        lora_alpha=lc.alpha,
        lora_dropout=lc.dropout,
        target_modules=targets,
        modules_to_save=head_modules(model),
        rank_pattern=dict(lc.rank_pattern),
        alpha_pattern=dict(lc.alpha_pattern),
        use_rslora=lc.use_rslora,
    )


def _check_ranks(
    model: PreTrainedModel, targets: list[str], rank: int, pattern: dict[str, int]
) -> None:
    """Raise if a rank exceeds min(d_in, d_out) of a target, or a pattern key matches nothing."""
    linears = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    targeted = {
        n: m
        for n, m in linears.items()
        if n.split(".")[-1] in targets or any(n.endswith("." + t) for t in targets)
    }
    for key in pattern:
        if not any(key in n for n in targeted):
            raise ConfigError(
                f"lora.rank_pattern key '{key}' matches no targeted module "
                f"(targets: {', '.join(targets)})"
            )
    for name, mod in targeted.items():
        r = next((v for k, v in pattern.items() if k in name), rank)
        limit = min(mod.in_features, mod.out_features)
        if r > limit:
            raise ConfigError(
                f"LoRA rank {r} for {name} exceeds min(d_in, d_out) = {limit} "
                f"({mod.in_features} -> {mod.out_features})"
            )
