"""Pooling strategies by name: how one layer's token states become one row per input.

Decoder LMs put a massive activation on the first token (an attention sink): in SmolLM2 one
coordinate of the first token's state is orders of magnitude above the rest from layer 12 on.
The plain masked mean divides that spike by the input length, so its centred variance is
1/length and nothing else (README: Drift). `mean_nosink` leaves the first `sink_tokens` real
tokens out of the mean; `last` is the last real token (the one a causal classifier reads).
All assume right padding (the attention mask is 1 then 0 along each row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from loralens.errors import LoralensError


class PoolingError(LoralensError, ValueError):
    """A pooling name or sink count that cannot be applied (a ValueError for config checks)."""


@dataclass(frozen=True)
class Pooling:
    """A named way to pool (B, T, d) hidden states under a (B, T) mask into (B, d)."""

    name: str
    describe: str
    fn: Callable[[Tensor, Tensor, int], Tensor]  # (hidden, mask, sink_tokens) -> (B, d)


def masked_mean(hidden: Tensor, mask: Tensor, skip: int = 0) -> Tensor:
    """Mean over the real tokens after the first `skip` of each row: (B, T, d) -> (B, d)."""
    keep = mask.clone()  # (B, T)
    keep[:, :skip] = 0
    m = keep.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1)


def last_token(hidden: Tensor, mask: Tensor, skip: int = 0) -> Tensor:
    """The last real token of each row (right padding): (B, T, d) -> (B, d)."""
    last_idx = mask.sum(1).clamp_min(1) - 1  # (B,)
    return hidden[torch.arange(hidden.shape[0]), last_idx]


POOLINGS: dict[str, Pooling] = {
    p.name: p
    for p in (
        Pooling("mean_nosink", "mean over real tokens after the first sink_tokens", masked_mean),
        Pooling("mean", "mean over all real tokens (sink included; for comparison)",
                lambda h, m, s: masked_mean(h, m, 0)),
        Pooling("last", "the last real token", last_token),
    )
}  # fmt: skip
DEFAULT_POOLING = "mean_nosink"


def get_pooling(name: str) -> Pooling:
    """The registered pooling `name`; a clear error naming the allowed ones otherwise."""
    if name not in POOLINGS:
        raise PoolingError(f"unknown pooling {name!r}; allowed: {', '.join(POOLINGS)}")
    return POOLINGS[name]


def check_sink_tokens(sink_tokens: int, lengths: Tensor) -> None:
    """Raise unless 0 <= sink_tokens < the shortest input's token count."""
    shortest = int(lengths.min()) if lengths.numel() else 0
    if sink_tokens < 0 or sink_tokens >= shortest:
        raise PoolingError(
            f"probing.sink_tokens={sink_tokens} leaves no token of the shortest probe input "
            f"({shortest} tokens) for mean_nosink; allowed: 0 <= sink_tokens < {shortest}"
        )


def pool_all(hidden: Tensor, mask: Tensor, sink_tokens: int) -> dict[str, Tensor]:
    """Every registered pooling of one layer: {name: (B, d)}."""
    return {name: p.fn(hidden, mask, sink_tokens) for name, p in POOLINGS.items()}
