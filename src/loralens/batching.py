"""Length-sorted batching for inference: rows of similar length share a batch, so little padding
is computed; results are put back in the caller's order."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def length_order(lengths: Sequence[int]) -> list[int]:
    """Row indices sorted by length (stable: equal lengths keep their order)."""
    return sorted(range(len(lengths)), key=lambda i: lengths[i])


def in_original_order(sorted_rows: torch.Tensor, order: Sequence[int]) -> torch.Tensor:
    """Undo `length_order`: row j of `sorted_rows` (N, ...) belongs at position order[j]."""
    out = torch.empty_like(sorted_rows)
    out[torch.as_tensor(list(order), dtype=torch.long)] = sorted_rows
    return out
