"""Pooling strategies by name: how one layer's token states become one row per input.

Decoder LMs put a massive activation on the first token (an attention sink): in SmolLM2 one
coordinate of the first token's state is orders of magnitude above the rest from layer 12 on.
The plain masked mean divides that spike by the input length, so its centred variance is
1/length and nothing else (docs: the sink). Some inputs carry the spike on later tokens too (a
second token of "Its and pieces of ..."). `mean_nosink` leaves out the first `sink_tokens` real
tokens and every massive-activation token wherever it is (`sink_mask`); `last` is the last real
token (the one a causal classifier reads). All assume right padding (the attention mask is 1
then 0 along each row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    fn: Callable[[Tensor, Tensor, Tensor], Tensor]  # (hidden, mask, sinks (B, T)) -> (B, d)


def masked_mean(hidden: Tensor, mask: Tensor, sinks: Tensor | None = None) -> Tensor:
    """Mean over the real tokens of each row that are not sinks: (B, T, d) -> (B, d)."""
    keep = mask.bool() if sinks is None else mask.bool() & ~sinks  # (B, T)
    m = keep.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1)


def last_token(hidden: Tensor, mask: Tensor, sinks: Tensor | None = None) -> Tensor:
    """The last real token of each row (right padding): (B, T, d) -> (B, d)."""
    last_idx = mask.sum(1).clamp_min(1) - 1  # (B,)
    return hidden[torch.arange(hidden.shape[0]), last_idx]


def sink_mask(
    hidden_states: Sequence[Tensor], mask: Tensor, sink_tokens: int, sink_ratio: float
) -> Tensor:
    """(B, T) True at each row's first `sink_tokens` real tokens and at every real token whose
    state norm at some layer exceeds `sink_ratio` x that row's median real-token norm there
    (0: leading tokens only). Fewer than half of a row's tokens can exceed a ratio above 2."""
    real = mask.bool()  # (B, T)
    sinks = torch.zeros_like(real)
    sinks[:, :sink_tokens] = True
    if sink_ratio > 0:
        norms = torch.stack([h.float().norm(dim=-1) for h in hidden_states])  # (L+1, B, T)
        norms = norms.masked_fill(~real, float("nan"))
        median = norms.nanmedian(dim=-1, keepdim=True).values  # (L+1, B, 1)
        sinks |= (norms > sink_ratio * median).any(0)
    return sinks & real


POOLINGS: dict[str, Pooling] = {
    p.name: p
    for p in (
        Pooling("mean_nosink", "mean over real tokens that are not sinks (leading sink_tokens "
                "and massive activations)", masked_mean),
        Pooling("mean", "mean over all real tokens (sinks included; for comparison)",
                lambda h, m, s: masked_mean(h, m)),
        Pooling("last", "the last real token", last_token),
    )
}  # fmt: skip
DEFAULT_POOLING = "mean_nosink"
# Measured on SmolLM2-135M (257 rotten_tomatoes inputs, max over layers of a token's norm over
# its input's median): first tokens 126-167x, two second-token sinks 155x and 167x, every other
# token at most 12.5x. 40 is the geometric middle of the gap.
DEFAULT_SINK_RATIO = 40.0


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


def pool_all(hidden: Tensor, mask: Tensor, sinks: Tensor) -> dict[str, Tensor]:
    """Every registered pooling of one layer: {name: (B, d)}; `sinks` (B, T) from `sink_mask`."""
    return {name: p.fn(hidden, mask, sinks) for name, p in POOLINGS.items()}
