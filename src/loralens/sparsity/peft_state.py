"""ΔW per module from PEFT adapter state dicts (LoRA, rsLoRA, rank/alpha patterns, AdaLoRA).

Keys are those of `peft.get_peft_model_state_dict` (and of a saved `adapter_model.safetensors`):
`base_model.model.<module>.lora_A.weight`, `...lora_B.weight`, `...lora_embedding_A/B` for LoRA,
`base_model.model.<module>.lora_A/lora_B/lora_E` for AdaLoRA. Module names are returned without
the `base_model.model.` prefix, so they match the base model's own `named_modules()`, e.g.
`model.layers.0.self_attn.q_proj`. Keys that are not adapter factors (`modules_to_save` copies
such as a classification head, LoRA biases) do not change the adapted weight and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

from torch import Tensor

from loralens.sparsity._checks import (
    SparsityInputError,
    as_matrix,
    check_finite_number,
    check_positive_int,
    check_rank_fits,
)
from loralens.sparsity.delta import lora_delta

PEFT_PREFIX = "base_model.model."
# PEFT's AdaLoRA divides by (ranknum + 1e-5), ranknum = init_r (peft/tuners/adalora/layer.py).
ADALORA_RANKNUM_EPS = 1e-5

_LORA_PARTS = {
    "lora_A.weight": "A",
    "lora_B.weight": "B",
    "lora_embedding_A": "emb_A",
    "lora_embedding_B": "emb_B",
}
_ADALORA_PARTS = {"lora_A": "A", "lora_B": "B", "lora_E": "E"}
# Adapter entries that leave the adapted weight unchanged (the bias of lora_bias=True).
_SKIPPED_SUFFIXES = (".lora_B.bias", ".lora_embedding_B.bias")

V = TypeVar("V")


def lora_deltas_from_state_dict(
    adapter_state: Mapping[str, Tensor],
    alpha: float,
    rank: int,
    rank_pattern: Mapping[str, int] | None = None,
    alpha_pattern: Mapping[str, float] | None = None,
    *,
    use_rslora: bool = False,
) -> dict[str, Tensor]:
    """ΔW (float64) per LoRA-adapted module of a PEFT LoRA adapter state dict."""
    groups = _group_by_module(adapter_state, _LORA_PARTS, kind="LoRA")
    deltas: dict[str, Tensor] = {}
    for module, parts in groups.items():
        embedding = "emb_A" in parts or "emb_B" in parts
        a_key, b_key = ("emb_A", "emb_B") if embedding else ("A", "B")
        _require_parts(module, parts, (a_key, b_key), kind="LoRA")
        a = as_matrix(parts[a_key], f"{module}: lora_A")  # (r, d_in); (r, n_emb) for embeddings
        r = a.shape[0]
        expected = _pattern_value(rank_pattern, module, rank)
        if r != expected:
            raise SparsityInputError(
                f"{module}: lora_A has rank {r} but the config gives r={expected} "
                "(from rank / rank_pattern); pass the adapter's own LoraConfig values"
            )
        module_alpha = _pattern_value(alpha_pattern, module, alpha)
        delta = lora_delta(a, parts[b_key], module_alpha, r, use_rslora, name=module)
        # PEFT's Embedding stores B·A transposed relative to the (n_emb, d_emb) weight.
        deltas[module] = delta.T if embedding else delta
    return deltas


def adalora_delta(
    lora_A: Tensor,
    lora_B: Tensor,
    lora_E: Tensor,
    alpha: float,
    init_r: int,
    *,
    name: str = "adalora",
) -> Tensor:
    """ΔW = B · diag(E) · A · scaling / (init_r + 1e-5) of one AdaLoRA module, as PEFT merges it."""
    a = as_matrix(lora_A, f"{name}: lora_A", allow_empty=True)  # (r, d_in)
    b = as_matrix(lora_B, f"{name}: lora_B", allow_empty=True)  # (d_out, r)
    e_raw = lora_E.reshape(-1, 1) if isinstance(lora_E, Tensor) and lora_E.ndim == 1 else lora_E
    e = as_matrix(e_raw, f"{name}: lora_E", allow_empty=True)  # (r, 1)
    alpha = check_finite_number(alpha, f"{name}: alpha")
    init_r = check_positive_int(init_r, f"{name}: init_r")
    r = a.shape[0]
    if b.shape[1] != r or e.shape != (r, 1):
        raise SparsityInputError(
            f"{name}: inconsistent AdaLoRA shapes lora_A {tuple(a.shape)}, lora_B "
            f"{tuple(b.shape)}, lora_E {tuple(e.shape)}; expected (r, d_in), (d_out, r), (r, 1)"
        )
    if r > init_r:
        raise SparsityInputError(f"{name}: lora_A has rank {r}, above init_r={init_r}")
    check_rank_fits(r, (b.shape[0], a.shape[1]), name)
    # PEFT: scaling = lora_alpha if lora_alpha > 0 else r, and ranknum stays init_r even after
    # the rank allocator prunes triplets (resize_modules_by_rank_pattern copies it back).
    scaling = alpha if alpha > 0 else float(r)
    return (b @ (a * e)) * (scaling / (init_r + ADALORA_RANKNUM_EPS))  # (d_out, d_in)


def adalora_deltas_from_state_dict(
    adapter_state: Mapping[str, Tensor], alpha: float, init_r: int
) -> dict[str, Tensor]:
    """ΔW (float64) per adapted module of a PEFT AdaLoRA adapter state dict (pruned or not)."""
    groups = _group_by_module(adapter_state, _ADALORA_PARTS, kind="AdaLoRA")
    deltas: dict[str, Tensor] = {}
    for module, parts in groups.items():
        _require_parts(module, parts, ("A", "B", "E"), kind="AdaLoRA")
        deltas[module] = adalora_delta(
            parts["A"], parts["B"], parts["E"], alpha, init_r, name=module
        )
    return deltas


def _group_by_module(
    adapter_state: Mapping[str, Tensor], suffixes: Mapping[str, str], *, kind: str
) -> dict[str, dict[str, Tensor]]:
    """Collect adapter factors per normalised module name, rejecting unsupported adapters."""
    groups: dict[str, dict[str, Tensor]] = {}
    for key, value in adapter_state.items():
        found = _split_key(key, suffixes)
        if found is None:
            _reject_unknown_adapter_key(key, kind)
            continue
        module, part = found
        groups.setdefault(module, {})[part] = value
    if not groups:
        raise SparsityInputError(
            f"no {kind} factors found among {len(adapter_state)} keys; expected keys ending in "
            f"{', '.join(sorted(suffixes))} as written by peft.get_peft_model_state_dict"
        )
    return groups


def _split_key(key: str, suffixes: Mapping[str, str]) -> tuple[str, str] | None:
    """(module name without the PEFT prefix, part) for an adapter-factor key, else None."""
    for suffix, part in suffixes.items():
        if key.endswith("." + suffix):
            return key[: -len(suffix) - 1].removeprefix(PEFT_PREFIX), part
    return None


def _reject_unknown_adapter_key(key: str, kind: str) -> None:
    """Raise for adapter keys this module cannot turn into ΔW; let other keys pass."""
    if ".lora_" not in key or key.endswith(_SKIPPED_SUFFIXES):
        return
    if "lora_magnitude_vector" in key:
        raise SparsityInputError(f"{key}: DoRA adapters are not supported (ΔW is not s·B·A)")
    if kind == "LoRA" and key.endswith((".lora_A", ".lora_B", ".lora_E")):
        raise SparsityInputError(f"{key}: an AdaLoRA key; use adalora_deltas_from_state_dict")
    if kind == "AdaLoRA" and key.endswith((".lora_A.weight", ".lora_B.weight")):
        raise SparsityInputError(f"{key}: a LoRA key; use lora_deltas_from_state_dict")
    raise SparsityInputError(
        f"{key}: unrecognised {kind} key; expected the format of peft.get_peft_model_state_dict "
        "(adapter name removed), not a raw model.state_dict()"
    )


def _require_parts(
    module: str, parts: Mapping[str, Tensor], needed: tuple[str, ...], *, kind: str
) -> None:
    """Raise if a module lacks one of its adapter factors."""
    missing = [p for p in needed if p not in parts]
    if missing:
        raise SparsityInputError(
            f"{module}: incomplete {kind} adapter, missing {missing} (found {sorted(parts)})"
        )


def _pattern_value(patterns: Mapping[str, V] | None, module: str, default: V) -> V:
    """Value of the first pattern key matching `module` as PEFT matches it, else `default`."""
    # Mirrors peft.utils.other.get_pattern_key: a key matches a dotted suffix of the module name.
    for key, value in (patterns or {}).items():
        if re.match(rf"(.*\.)?({key})$", module):
            return value
    return default
