"""Folders vLLM loads: causal-LM adapters (no classifier heads) and a merged model.

Adapters from studies and synthetic ones are saved for sequence classification with a
`modules_to_save` head; vLLM serves a causal LM and refuses such extras, so each is rewritten
with its LoRA tensors only. The merged model is the base with one adapter merged in (PEFT's
`merge_and_unload`), saved with the base's tokenizer files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from loralens.serving.adapters import CONFIG_FILE, LORA_PARTS, WEIGHTS_FILE, AdapterSpec
from loralens.serving.base import BaseSource
from loralens.serving.peft_io import attach_adapters

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "generation_config.json",
)


def causal_lm_config(config: dict[str, Any], base_path: str) -> dict[str, Any]:
    """An adapter config for a causal LM: no saved modules, task CAUSAL_LM, base = `base_path`."""
    out = dict(config)
    out |= {"task_type": "CAUSAL_LM", "modules_to_save": None, "inference_mode": True}
    out["base_model_name_or_path"] = base_path
    return out


def lora_tensors(tensors: dict[str, Any]) -> dict[str, Any]:
    """Only the LoRA A/B matrices of a saved adapter (drops classifier heads and the like)."""
    return {k: v for k, v in tensors.items() if k.endswith(LORA_PARTS)}


def write_vllm_adapter(spec: AdapterSpec, out: Path, base_path: str) -> Path:
    """The adapter rewritten for vLLM into `out` (config + LoRA tensors only)."""
    out.mkdir(parents=True, exist_ok=True)
    config = json.loads((spec.path / CONFIG_FILE).read_text())
    (out / CONFIG_FILE).write_text(json.dumps(causal_lm_config(config, base_path), indent=2))
    save_file(lora_tensors(load_file(str(spec.path / WEIGHTS_FILE))), str(out / WEIGHTS_FILE))
    return out


def write_merged_model(base: BaseSource, spec: AdapterSpec, out: Path) -> Path:
    """The causal-LM base with `spec` merged in, saved as an HF folder vLLM can load."""
    model = attach_adapters(base.load(), [spec], "generate").merge_and_unload()
    model.save_pretrained(str(out))
    copy_tokenizer(Path(base.path), out)
    return out


def copy_tokenizer(src: Path, out: Path) -> None:
    """Copy the tokenizer files a model folder needs (those present) from `src` to `out`."""
    for name in TOKENIZER_FILES:
        if (src / name).exists():
            shutil.copy2(src / name, out / name)
