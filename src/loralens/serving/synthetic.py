"""Synthetic adapters: random (untrained) LoRA weights in ordinary PEFT adapter folders.

They stand in for trained adapters when a benchmark needs more adapters than were trained.
They are written with PEFT (`get_peft_model` on the base, then `save_pretrained`), so every
engine loads them exactly as it loads trained ones, and carry a marker file so results label
them `synthetic`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import torch
from peft import LoraConfig, TaskType
from peft.tuners.lora import LoraLayer
from peft.utils import ModulesToSaveWrapper

from loralens.serving.adapters import SYNTHETIC_MARKER, AdapterSpec
from loralens.serving.base import BaseSource
from loralens.serving.peft_io import new_peft_model
from loralens.training.adapters import head_modules, resolve_targets

B_STD = 0.02  # lora_B entries: large enough that adapters visibly change the outputs
HEAD_STD = 0.02  # noise added to each adapter's copy of the classifier head


def make_synthetic_adapters(
    model_name: str,
    out_dir: Path,
    count: int,
    *,
    ranks: Sequence[int] = (8,),
    targets: str | list[str] = "qv",
    alpha: float = 16.0,
    num_labels: int = 2,
    like: AdapterSpec | None = None,
    seed: int = 0,
    start: int = 0,
) -> list[Path]:
    """Write `count` random LoRA adapter folders (rank cycling through `ranks`, or like `like`)."""
    model = BaseSource(model_name, "classify", torch.device("cpu"), num_labels).load()
    names = [f"synthetic-{start + i}" for i in range(count)]
    configs = [
        _config(model, like, ranks[(start + i) % len(ranks)], targets, alpha) for i in range(count)
    ]
    peft = new_peft_model(model, configs[0], names[0])
    for name, config in zip(names[1:], configs[1:], strict=True):
        peft.add_adapter(name, config)
    for i, name in enumerate(names):
        _randomize(peft, name, torch.Generator().manual_seed(seed * 100_003 + start + i))
    out_dir.mkdir(parents=True, exist_ok=True)
    peft.save_pretrained(str(out_dir), selected_adapters=names)
    for name, config in zip(names, configs, strict=True):
        marker = {"synthetic": True, "rank": config.r, "seed": seed, "base": model_name}
        (out_dir / name / SYNTHETIC_MARKER).write_text(json.dumps(marker, indent=2))
    return [out_dir / name for name in names]


def _config(
    model: torch.nn.Module,
    like: AdapterSpec | None,
    rank: int,
    targets: str | list[str],
    alpha: float,
) -> LoraConfig:
    """The adapter's PEFT config: a trained adapter's (shapes alike) or rank/targets/alpha given."""
    if like is not None:
        config = LoraConfig.from_pretrained(str(like.path))
        config.inference_mode = False
        return config
    return LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=rank,
        lora_alpha=alpha,
        lora_dropout=0.0,
        target_modules=resolve_targets(model, targets),
        modules_to_save=head_modules(model),
    )


@torch.no_grad()
def _randomize(peft: torch.nn.Module, name: str, gen: torch.Generator) -> None:
    """A ~ N(0, 1/d_in), B ~ N(0, B_STD²) (non-zero, unlike PEFT's init); perturb the head copy."""
    for module in peft.modules():
        if isinstance(module, LoraLayer) and name in module.lora_A:
            a = module.lora_A[name].weight  # (r, d_in)
            b = module.lora_B[name].weight  # (d_out, r)
            a.copy_(torch.randn(a.shape, generator=gen) / math.sqrt(a.shape[1]))
            b.copy_(torch.randn(b.shape, generator=gen) * B_STD)
        elif isinstance(module, ModulesToSaveWrapper) and name in module.modules_to_save:
            w = module.modules_to_save[name].weight  # (num_labels, hidden)
            w.add_(torch.randn(w.shape, generator=gen) * HEAD_STD)
