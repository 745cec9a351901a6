"""Analytic cost of LoRA: extra FLOPs over the base model's linear layers, and memory sizes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loralens.serving.adapters import AdapterSpec, BaseShapes

HEADS = ("score", "classifier", "lm_head")


def base_linear_macs(base: BaseShapes) -> int:
    """Multiply-accumulates per token in the base's linear layers (heads excluded): Σ d_in·d_out."""
    return sum(d_in * d_out for p, (d_in, d_out) in base.linears.items() if not _is_head(p))


def lora_macs(spec: AdapterSpec, base: BaseShapes, rank: int | None = None) -> int:
    """Extra multiply-accumulates per token of an adapter: Σ r·(d_in + d_out) over its targets."""
    total = 0
    for module, r in spec.ranks.items():
        d_in, d_out = base.linears[module]
        total += (rank or r) * (d_in + d_out)
    return total


def extra_flops(adapters: Sequence[AdapterSpec], base: BaseShapes) -> dict[str, Any]:
    """The `analytic` block of the results: LoRA FLOPs as a fraction of the base linear FLOPs."""
    denom = base_linear_macs(base)
    per_adapter = {a.name: lora_macs(a, base) / denom for a in adapters}
    r_max = max(a.max_rank for a in adapters)
    padded = max(lora_macs(a, base, rank=r_max) for a in adapters) / denom
    return {
        "extra_flops_ratio": sum(per_adapter.values()) / len(per_adapter),
        "detail": {
            "per_adapter": per_adapter,
            "fused_padded_ratio": padded,  # the fused engine pads every adapter to r_max
            "base_linear_flops_per_token": 2 * denom,
            "formula": "sum r*(d_in+d_out) over LoRA targets / sum d_in*d_out over base linears",
            "note": "heads, attention scores and norms excluded; per token, any batch size",
        },
    }


def row_ratio(adapters_in_row: Sequence[AdapterSpec], base: BaseShapes) -> float:
    """Mean analytic extra-FLOPs ratio over the adapters a timed batch uses."""
    denom = base_linear_macs(base)
    return sum(lora_macs(a, base) for a in adapters_in_row) / len(adapters_in_row) / denom


def adapter_mb(spec: AdapterSpec, bytes_per_value: int = 4) -> float:
    """Size of an adapter's tensors (LoRA factors and saved heads) in MiB."""
    values = 0
    for shape in spec.shapes.values():
        n = 1
        for d in shape:
            n *= d
        values += n
    return values * bytes_per_value / 2**20


def base_mb(base: BaseShapes, bytes_per_value: int = 4) -> float:
    """Size of one copy of the base model's parameters (tied weights once) in MiB."""
    values = 0
    for shape in base.params.values():
        n = 1
        for d in shape:
            n *= d
        values += n
    return values * bytes_per_value / 2**20


def _is_head(path: str) -> bool:
    return path.split(".")[-1] in HEADS or path.startswith(HEADS)
