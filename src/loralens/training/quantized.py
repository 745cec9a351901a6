"""QLoRA's base: the classifier loaded in 4-bit NF4 through bitsandbytes, checked before use."""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType

import torch
from peft import prepare_model_for_kbit_training
from transformers import (
    AutoModelForSequenceClassification,
    BitsAndBytesConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from loralens.errors import ModelError
from loralens.models.load import load_tokenizer
from loralens.models.registry import resolve_model

REQUIREMENT = "bitsandbytes==0.50.2"
INSTALL_HINT = "pip install 'loralens[qlora]'"
WHAT = "a 4-bit NF4 base (method qlora, or model.quantization nf4)"


def nf4_config() -> BitsAndBytesConfig:
    """4-bit NF4 storage with fp32 compute (QLoRA's base; adapters and head stay fp32)."""
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.float32,
    )


def check_qlora_support(device: str) -> None:
    """Raise a ModelError naming the requirement unless 4-bit NF4 works on `device` here."""
    bnb = _import_bitsandbytes()
    supported = sorted(getattr(bnb, "supported_torch_devices", ()))
    if device not in supported:
        raise ModelError(
            f"{WHAT}: bitsandbytes {bnb.__version__} does not support device '{device}' "
            f"(it supports: {', '.join(supported) or 'none'}); use an fp32 base on this machine"
        )
    try:  # a round trip through NF4 proves the native library runs on this device
        x = torch.randn(64, 64, device=device)
        packed, state = bnb.functional.quantize_4bit(x, quant_type="nf4")
        bnb.functional.dequantize_4bit(packed, state)
    except Exception as exc:
        raise ModelError(
            f"{WHAT}: bitsandbytes {bnb.__version__} cannot quantize to 4-bit NF4 on '{device}' "
            f"here ({type(exc).__name__}: {exc}); it needs {REQUIREMENT} with a backend for "
            "this device, or use an fp32 base"
        ) from None


def load_qlora_base(
    name: str, num_labels: int, device: str, gradient_checkpointing: bool = False
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The classifier with NF4 linear layers on `device`, frozen and prepared for k-bit training."""
    check_qlora_support(device)
    path, _ = resolve_model(name)
    tok = load_tokenizer(name)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            path,
            num_labels=num_labels,
            dtype=torch.float32,
            quantization_config=nf4_config(),
            device_map={"": device},
            local_files_only=isinstance(path, Path),
        )
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        raise ModelError(f"cannot load {name} with a 4-bit NF4 base: {exc}") from None
    model.config.pad_token_id = tok.pad_token_id
    _disable_cpu_inference_packing(model)
    model = prepare_model_for_kbit_training(
        model, use_gradient_checkpointing=gradient_checkpointing
    )
    return model, tok


def _disable_cpu_inference_packing(model: torch.nn.Module) -> int:
    """Keep every 4-bit layer on the dequantize-and-matmul path; return how many were set."""
    # On CPUs with AVX512-BF16, bitsandbytes 0.50.2 repacks a Linear4bit in place at its first
    # eval-mode forward (bf16 absmax, bf16 gemv kernel) and keeps using that path in training,
    # where it has no backward: after the first evaluation no gradient flowed through the 4-bit
    # layers (q/v adapters got none) and the weights had lost precision. One path for both.
    layers = [m for m in model.modules() if hasattr(m, "support_avx512bf16_for_cpu")]
    for layer in layers:
        layer.support_avx512bf16_for_cpu = False
    return len(layers)


def _import_bitsandbytes() -> ModuleType:
    """bitsandbytes, or a ModelError saying how to install it."""
    # Its CPU backend warns at import that an optional hub kernel package is absent; the native
    # kernels it falls back to are the ones measured, so the warning is noise to our users.
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    try:
        import bitsandbytes
    except Exception as exc:  # ImportError, or a native-library failure while importing
        raise ModelError(
            f"{WHAT} needs {REQUIREMENT} ({INSTALL_HINT}); importing it failed: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    return bitsandbytes
