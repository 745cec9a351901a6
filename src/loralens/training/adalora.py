"""AdaLoRA's allocated ranks: which singular triplets each module kept, in models and checkpoints.

PEFT prunes an AdaLoRA adapter to its rank pattern when saving it, and on loading resizes the live
modules by the pattern in the live config. The helpers here keep those two in step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn


def is_adalora(model: nn.Module) -> bool:
    """Whether `model` is a PEFT model with a trainable AdaLoRA adapter."""
    return hasattr(getattr(model, "base_model", None), "rankallocator")


def trainable_adapter_config(model: nn.Module) -> Any:
    """The PEFT AdaLoraConfig of the trainable adapter of a PEFT AdaLoRA model."""
    base = model.base_model
    return base.peft_config[base.trainable_adapter_name]


def kept_ranks(model: nn.Module) -> dict[str, int]:
    """Module name -> singular triplets kept, from PEFT's rank_pattern (init_r if none)."""
    base = model.base_model  # a PEFT AdaLoraModel
    adapter = base.trainable_adapter_name
    config = base.peft_config[adapter]
    if not config.rank_pattern:  # no allocation has happened: every module keeps init_r
        return {
            name: config.init_r
            for name, mod in base.model.named_modules()
            if adapter in getattr(mod, "lora_E", {})
        }
    # Keys look like 'model.layers.0.self_attn.q_proj.lora_E.default' (or without the adapter
    # name once PEFT saved the adapter); values are one keep/drop flag per triplet.
    return {
        _module_name(key, adapter): int(sum(bool(k) for k in keep))
        for key, keep in sorted(config.rank_pattern.items())
    }


def use_checkpoint_rank_pattern(model: nn.Module, checkpoint: str | Path) -> None:
    """Make the live rank pattern that of a saved checkpoint, so that PEFT can load it."""
    # The checkpoint's factors were pruned by the pattern in force when it was saved; PEFT resizes
    # the live (full-rank, masked) modules by the live pattern, which has moved on since.
    saved = json.loads((Path(checkpoint) / "adapter_config.json").read_text())
    trainable_adapter_config(model).rank_pattern = saved.get("rank_pattern")


def _module_name(key: str, adapter: str) -> str:
    """'model.layers.0.self_attn.q_proj' from a rank_pattern key."""
    return key.removesuffix(f".{adapter}").removesuffix(".lora_E")
