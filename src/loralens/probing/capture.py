"""Capture every layer's pooled representation (masked mean, last real token) without grad."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from loralens.batching import in_original_order, length_order

POOLINGS = ("mean", "last")


def pool_hidden(hidden: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked mean over real tokens and the last real token (right padding): two (B, d) tensors."""
    m = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    mean = (hidden * m).sum(1) / m.sum(1).clamp_min(1)  # (B, d)
    last_idx = mask.sum(1).clamp_min(1) - 1  # (B,)
    last = hidden[torch.arange(hidden.shape[0]), last_idx]  # (B, d)
    return mean, last


@torch.no_grad()
def capture(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    max_length: int,
    batch_size: int = 32,
) -> dict[str, torch.Tensor]:
    """{'mean.layer_i', 'last.layer_i'}: (n, d) float32 for i = 0 (embeddings) .. num_layers.

    Rows are batched by token length and returned in the order of `texts`.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    rows = [
        {"input_ids": i, "attention_mask": m}
        for i, m in zip(encoded["input_ids"], encoded["attention_mask"], strict=True)
    ]
    order = length_order([len(r["input_ids"]) for r in rows])
    parts: dict[str, list[torch.Tensor]] = {}
    for start in range(0, len(texts), batch_size):
        batch = [rows[i] for i in order[start : start + batch_size]]
        enc = tokenizer.pad(batch, padding=True, return_tensors="pt").to(device)
        hidden_states = model(**enc, output_hidden_states=True).hidden_states  # L+1 x (B, T, d)
        for i, hidden in enumerate(hidden_states):
            mean, last = pool_hidden(hidden.float(), enc["attention_mask"])
            parts.setdefault(f"mean.layer_{i}", []).append(mean.cpu())
            parts.setdefault(f"last.layer_{i}", []).append(last.cpu())
    model.train(was_training)
    return {k: in_original_order(torch.cat(v), order).contiguous() for k, v in parts.items()}


def save_snapshot(reps: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    """Write representations as safetensors atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(reps, str(tmp), metadata={k: str(v) for k, v in metadata.items()})
    os.replace(tmp, path)


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata of a safetensors file, without reading its tensors."""
    with safe_open(str(path), framework="pt") as fh:
        return fh.metadata() or {}


def snapshot_index(folder: Path) -> list[dict]:
    """The snapshots in a run folder, ordered by step, from their metadata."""
    out = []
    for path in sorted(folder.glob("step_*.safetensors")):
        meta = read_metadata(path)
        out.append({"path": str(path), "step": int(meta["step"]), **json.loads(meta["info"])})
    return sorted(out, key=lambda r: r["step"])
