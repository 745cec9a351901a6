"""Capture every layer's pooled representations (every registered pooling) without grad."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from loralens.batching import in_original_order, length_order
from loralens.probing.pooling import DEFAULT_SINK_RATIO, check_sink_tokens, pool_all, sink_mask

LENGTHS = "lengths"  # (n,) real-token count of each probe input, stored beside the layers
SINKS = "sinks"  # (n,) tokens of each input mean_nosink left out (leading and massive ones)
METADATA_KEY = "loralens"  # the one safetensors metadata entry: the fields as sorted JSON


def layer_keys(reps: dict[str, torch.Tensor]) -> list[str]:
    """The '<pooling>.layer_<i>' keys of a snapshot (not its lengths)."""
    return [k for k in reps if ".layer_" in k]


def split_key(key: str) -> tuple[str, int]:
    """'mean.layer_12' -> ('mean', 12)."""
    pooling, layer = key.split(".layer_")
    return pooling, int(layer)


@torch.no_grad()
def capture(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    max_length: int,
    batch_size: int = 32,
    sink_tokens: int = 1,
    sink_ratio: float = DEFAULT_SINK_RATIO,
) -> dict[str, torch.Tensor]:
    """{'<pooling>.layer_i'}: (n, d) float32 for every registered pooling and i = 0 (embeddings)
    .. num_layers, 'lengths' (n,) and 'sinks' (n,). Rows are batched by length, returned in
    `texts` order.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    rows = [
        {"input_ids": i, "attention_mask": m}
        for i, m in zip(encoded["input_ids"], encoded["attention_mask"], strict=True)
    ]
    lengths = torch.tensor([sum(r["attention_mask"]) for r in rows], dtype=torch.int64)  # (n,)
    check_sink_tokens(sink_tokens, lengths)
    order = length_order([len(r["input_ids"]) for r in rows])
    parts: dict[str, list[torch.Tensor]] = {}
    for start in range(0, len(texts), batch_size):
        batch = [rows[i] for i in order[start : start + batch_size]]
        enc = tokenizer.pad(batch, padding=True, return_tensors="pt").to(device)
        hidden_states = model(**enc, output_hidden_states=True).hidden_states  # L+1 x (B, T, d)
        mask = enc["attention_mask"]
        sinks = sink_mask(hidden_states, mask, sink_tokens, sink_ratio)  # (B, T)
        parts.setdefault(SINKS, []).append(sinks.sum(1).cpu())
        for i, hidden in enumerate(hidden_states):
            for name, pooled in pool_all(hidden.float(), mask, sinks).items():
                parts.setdefault(f"{name}.layer_{i}", []).append(pooled.cpu())
    model.train(was_training)
    reps = {k: in_original_order(torch.cat(v), order).contiguous() for k, v in parts.items()}
    return reps | {LENGTHS: lengths}


def save_snapshot(reps: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    """Write representations as safetensors atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # One metadata key holding sorted JSON: safetensors writes its metadata map in hash order,
    # which differs between processes, so several keys would make reruns differ in bytes.
    text = json.dumps({k: str(v) for k, v in metadata.items()}, sort_keys=True)
    save_file(reps, str(tmp), metadata={METADATA_KEY: text})
    os.replace(tmp, path)


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata of a snapshot file, without reading its tensors."""
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    # Snapshots written before the single key kept one metadata entry per field.
    return json.loads(meta[METADATA_KEY]) if METADATA_KEY in meta else meta


def snapshot_index(folder: Path) -> list[dict]:
    """The snapshots in a run folder, ordered by step, from their metadata."""
    out = []
    for path in sorted(folder.glob("step_*.safetensors")):
        meta = read_metadata(path)
        out.append({"path": str(path), "step": int(meta["step"]), **json.loads(meta["info"])})
    return sorted(out, key=lambda r: r["step"])
