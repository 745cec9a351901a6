"""Helpers for the serving tests: sources, padded batches, and PEFT reference outputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from loralens.serving.base import BaseSource, Batch
from loralens.serving.decode import group_rows
from loralens.serving.engines import UnmergedEngine
from loralens.serving.interface import Sampling
from loralens.serving.workloads import make_batch


def source(model_dir: Path, mode: str) -> BaseSource:
    """A base source of the tiny Llama for one mode."""
    return BaseSource(str(model_dir), mode, torch.device("cpu"))  # type: ignore[arg-type]


def varied_batch(src: BaseSource, rows: int, seed: int = 0) -> Batch:
    """Rows of 5..12 random tokens, padded on the side the mode uses."""
    gen = torch.Generator().manual_seed(seed)
    lengths = [12, *torch.randint(5, 13, (rows - 1,), generator=gen).tolist()]
    side = "right" if src.mode == "classify" else "left"
    return make_batch(src.tokenizer, lengths, side, seed)


def reference_logits(ref: UnmergedEngine, batch: Batch, plan: Sequence[str | None]) -> Tensor:
    """PEFT logits with each row's adapter active (one adapter per call), in row order."""
    out = None
    for name, idx in group_rows(plan).items():
        logits = ref.forward(batch.rows(idx), [name] * len(idx))
        out = logits.new_empty((batch.size, *logits.shape[1:])) if out is None else out
        out[idx] = logits
    return out


def reference_tokens(
    ref: UnmergedEngine, batch: Batch, plan: Sequence[str | None], n: int, sampling: Sampling
) -> Tensor:
    """PEFT tokens with each row's adapter active, in row order. (B, n)

    Each adapter runs on the whole batch and its rows are kept, so every row keeps its index
    (sampling noise is seeded by row index).
    """
    out = torch.empty((batch.size, n), dtype=torch.long)
    for name, idx in group_rows(plan).items():
        out[idx] = ref.generate(batch, [name] * batch.size, n, sampling).tokens[idx]
    return out


def real_positions(logits: Tensor, batch: Batch) -> Tensor:
    """LM logits at real (non-pad) positions only; classifier logits unchanged."""
    return logits[batch.attention_mask.bool()] if logits.dim() == 3 else logits
