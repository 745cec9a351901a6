"""Adapter folders: read a PEFT LoRA adapter's config and tensor shapes, check them against a base.

Checks run on shapes alone (no weights loaded), so a bad adapter is reported before any engine
loads anything: a missing folder, another base model, or the first tensor whose shape differs.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from transformers import AutoModelForSequenceClassification

from loralens.serving.errors import (
    AdapterMismatchError,
    AdapterNotFoundError,
    UnsupportedAdapterError,
)
from loralens.training.folder import TrainingRun

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
SYNTHETIC_MARKER = "loralens-synthetic.json"
PREFIX = "base_model.model."  # PEFT's prefix of saved tensor names
LORA_PARTS = (".lora_A.weight", ".lora_B.weight")
DORA_PART = ".lora_magnitude_vector"  # DoRA: one magnitude per output feature
ARCH_KEYS = (
    "model_type",
    "hidden_size",
    "num_hidden_layers",
    "intermediate_size",
    "num_attention_heads",
    "num_key_value_heads",
    "vocab_size",
)


@dataclass(frozen=True)
class AdapterSpec:
    """One LoRA adapter folder: its name in results, config and saved tensor shapes."""

    name: str
    path: Path
    synthetic: bool
    config: dict[str, Any] = field(repr=False)
    shapes: dict[str, tuple[int, ...]] = field(repr=False)  # saved tensor name -> shape

    @property
    def ranks(self) -> dict[str, int]:
        """Rank per adapted module (module path in the base model)."""
        return {
            _strip(k).removesuffix(".lora_A.weight"): s[0]
            for k, s in self.shapes.items()
            if k.endswith(".lora_A.weight")
        }

    @property
    def max_rank(self) -> int:
        """The largest rank over the adapted modules."""
        return max(self.ranks.values(), default=0)

    @property
    def uses_dora(self) -> bool:
        """True for DoRA adapters (weight-decomposed LoRA)."""
        return bool(self.config.get("use_dora"))

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary for benchmark results."""
        ranks = sorted(set(self.ranks.values()))
        return {
            "name": self.name,
            "path": str(self.path),
            "synthetic": self.synthetic,
            "ranks": ranks,
            "targets": sorted({m.split(".")[-1] for m in self.ranks}),
            "modules_to_save": list(dict.fromkeys(self.config.get("modules_to_save") or [])),
        }


@dataclass(frozen=True)
class BaseShapes:
    """What adapters are checked against: parameter shapes and Linear dims of the base."""

    label: str
    arch: dict[str, Any]
    params: dict[str, tuple[int, ...]]  # parameter name -> shape
    linears: dict[str, tuple[int, int]]  # module path -> (d_in, d_out)


def adapter_folder(path: Path) -> Path:
    """The PEFT adapter folder at `path` or at `path/adapter` (a `loralens train` run folder)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise AdapterNotFoundError(f"adapter directory not found: {path}")
    for folder in (path, TrainingRun(path).adapter_dir):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise AdapterNotFoundError(
        f"{path} holds no PEFT adapter ({CONFIG_FILE}); give an adapter folder or a "
        "`loralens train` run folder that contains adapter/"
    )


def read_adapter(path: Path, name: str | None = None) -> AdapterSpec:
    """Read an adapter folder's config and tensor shapes (no weights loaded)."""
    folder = adapter_folder(path)
    config = json.loads((folder / CONFIG_FILE).read_text())
    if config.get("peft_type") != "LORA":
        raise UnsupportedAdapterError(
            f"{folder} is a {config.get('peft_type')} adapter; only LoRA adapters can be served"
        )
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise AdapterNotFoundError(f"{folder} has no {WEIGHTS_FILE}")
    with safe_open(str(weights), framework="pt") as f:
        shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
    if name is None:
        name = folder.parent.name if folder.name == "adapter" else folder.name
    synthetic = (folder / SYNTHETIC_MARKER).is_file()
    return AdapterSpec(name, folder, synthetic, config, shapes)


def base_shapes(model_name: str, config: Any, num_labels: int) -> BaseShapes:
    """Shapes of the base classifier built on the meta device (no weights, no memory)."""
    config = copy.deepcopy(config)
    config.num_labels = num_labels
    with torch.device("meta"):
        model = AutoModelForSequenceClassification.from_config(config)
    params = {n: tuple(p.shape) for n, p in model.named_parameters()}
    linears = {
        n: (m.in_features, m.out_features)
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Linear)
    }
    arch = {k: getattr(config, k, None) for k in ARCH_KEYS}
    return BaseShapes(model_name, arch, params, linears)


def check_adapter(spec: AdapterSpec, base: BaseShapes) -> None:
    """Raise AdapterMismatchError naming the first tensor (or base) that does not fit the base."""
    _check_recorded_base(spec, base)
    ranks: dict[str, int] = {}
    for key, shape in sorted(spec.shapes.items()):
        name = _strip(key)
        if name.endswith(LORA_PARTS):
            module, part = name.rsplit(".", 2)[0], name.rsplit(".", 2)[1]
            expected = _lora_shape(spec, key, module, part, shape, base, ranks)
        elif name.endswith(DORA_PART) and name.removesuffix(DORA_PART) in base.linears:
            expected = (base.linears[name.removesuffix(DORA_PART)][1],)  # (d_out,)
        elif name in base.params:
            expected = base.params[name]
        else:
            raise AdapterMismatchError(
                f"adapter '{spec.name}': tensor {key} has no counterpart in base {base.label} "
                "(another architecture, or an unsupported LoRA variant)"
            )
        if tuple(shape) != tuple(expected):
            raise AdapterMismatchError(
                f"adapter '{spec.name}': tensor {key} has shape {tuple(shape)} but base "
                f"{base.label} needs {tuple(expected)}"
            )


def _lora_shape(
    spec: AdapterSpec,
    key: str,
    module: str,
    part: str,
    shape: tuple[int, ...],
    base: BaseShapes,
    ranks: dict[str, int],
) -> tuple[int, int]:
    """The shape a lora_A (r, d_in) or lora_B (d_out, r) tensor must have on this base."""
    if module not in base.linears:
        raise AdapterMismatchError(
            f"adapter '{spec.name}': tensor {key} targets {module}, which is not a Linear "
            f"layer of base {base.label}"
        )
    d_in, d_out = base.linears[module]
    rank = ranks.setdefault(module, shape[0] if part == "lora_A" else shape[-1])
    return (rank, d_in) if part == "lora_A" else (d_out, rank)


def _check_recorded_base(spec: AdapterSpec, base: BaseShapes) -> None:
    """Compare the architecture of the base the adapter records (if it is a local folder)."""
    recorded = spec.config.get("base_model_name_or_path")
    if not recorded:
        return
    cfg_file = Path(recorded).expanduser() / "config.json"
    if not cfg_file.is_file():
        return  # a hub id or a folder not on this machine: the tensor shapes decide
    theirs = json.loads(cfg_file.read_text())
    mine = base.arch
    diff = [k for k in ARCH_KEYS if theirs.get(k) is not None and theirs.get(k) != mine.get(k)]
    if diff:
        detail = ", ".join(f"{k} {theirs.get(k)} vs {mine.get(k)}" for k in diff)
        raise AdapterMismatchError(
            f"adapter '{spec.name}' was made for base {recorded}, not {base.label} ({detail})"
        )


def _strip(key: str) -> str:
    """A saved tensor name without PEFT's `base_model.model.` prefix."""
    return key.removeprefix(PREFIX)


def head_labels(specs: list[AdapterSpec]) -> int | None:
    """Number of labels of the adapters' saved classifier heads (None if none saves a head)."""
    for spec in specs:
        for key, shape in spec.shapes.items():
            if _strip(key).startswith(("score.", "classifier.")) and key.endswith("weight"):
                return int(shape[0])
    return None
