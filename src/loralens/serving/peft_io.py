"""Load adapter folders into one PEFT model, the same way for every engine."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from peft import LoraConfig, PeftModel, get_peft_model
from transformers import PreTrainedModel

from loralens.serving.adapters import AdapterSpec
from loralens.serving.base import Mode
from loralens.serving.errors import AdapterMismatchError


def peft_config(spec: AdapterSpec, mode: Mode) -> LoraConfig:
    """The adapter's LoraConfig; for generation its classifier heads are dropped (LM head kept)."""
    config = LoraConfig.from_pretrained(str(spec.path))
    config.inference_mode = True
    if mode == "generate":
        config.modules_to_save = None
        config.task_type = "CAUSAL_LM"
    return config


def new_peft_model(model: PreTrainedModel, config: LoraConfig, name: str) -> PeftModel:
    """`get_peft_model`, without transformers' deprecation notice that PEFT triggers."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        return get_peft_model(model, config, adapter_name=name)


def attach_adapters(
    model: PreTrainedModel, adapters: Sequence[AdapterSpec], mode: Mode
) -> PeftModel:
    """A PEFT model over `model` (modified in place) holding every adapter, in eval mode."""
    peft: PeftModel | None = None
    for spec in adapters:
        config = peft_config(spec, mode)
        if peft is None:
            peft = new_peft_model(model, config, spec.name)
        else:
            peft.add_adapter(spec.name, config)
        result = peft.load_adapter(str(spec.path), adapter_name=spec.name)
        if result.missing_keys:
            raise AdapterMismatchError(
                f"adapter '{spec.name}' lacks tensors the base needs, e.g. {result.missing_keys[0]}"
            )
    if peft is None:
        raise ValueError("attach_adapters needs at least one adapter")
    peft.eval()
    return peft
