"""Token-by-token decoding with the HF KV cache, shared by every in-process engine.

Prefill runs the prompt once (keeping only the last position's logits); each decode step feeds
one token per row with the cache. Sampling noise is seeded per (row, step), so a row gets the
same tokens whichever engine serves it and however the batch is split.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from loralens.serving.base import Batch, position_ids, sync
from loralens.serving.interface import Generation, Sampling

# (ids (B, t), attention_mask (B, T_all), position_ids (B, t), cache) -> (logits (B, V), cache)
StepFn = Callable[[Tensor, Tensor, Tensor, Any], tuple[Tensor, Any]]


def hf_step(model: torch.nn.Module, **extra: Any) -> StepFn:
    """A step function over an HF (or PEFT) causal LM; `extra` goes to every forward call."""

    def step(ids: Tensor, mask: Tensor, pos: Tensor, cache: Any) -> tuple[Tensor, Any]:
        out = model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=pos,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
            **extra,
        )
        return out.logits[:, -1], out.past_key_values  # (B, V)

    return step


def choose(logits: Tensor, rows: Sequence[int], step: int, sampling: Sampling) -> Tensor:
    """Next token per row: argmax, or Gumbel-max sampling seeded by (seed, row, step). (B,)"""
    if sampling.greedy:
        return logits.argmax(-1)
    gen = torch.Generator(device="cpu")
    noise = torch.empty(logits.shape, dtype=torch.float32)  # (B, V)
    for i, row in enumerate(rows):
        gen.manual_seed(hash((sampling.seed, int(row), step)) & 0x7FFF_FFFF_FFFF)
        noise[i].uniform_(1e-10, 1.0, generator=gen)
    gumbel = -torch.log(-torch.log(noise)).to(logits.device)  # (B, V)
    return (logits.float() / sampling.temperature + gumbel).argmax(-1)


def decode(
    step: StepFn,
    batch: Batch,
    rows: Sequence[int],
    max_new_tokens: int,
    sampling: Sampling,
    start: float,
) -> tuple[Tensor, float, float]:
    """Generate for a left-padded batch: (tokens (B, n), first-token time, last-token time)."""
    device = batch.input_ids.device
    mask = batch.attention_mask  # (B, T)
    pos = position_ids(mask)  # (B, T)
    logits, cache = step(batch.input_ids, mask, pos, None)  # prefill
    tokens = [choose(logits, rows, 0, sampling)]  # each (B,)
    sync(device)
    first = time.perf_counter() - start
    ones = torch.ones_like(mask[:, :1])  # (B, 1)
    for i in range(1, max_new_tokens):
        mask = torch.cat([mask, ones], dim=1)  # (B, T + i)
        pos = pos[:, -1:] + 1  # (B, 1)
        logits, cache = step(tokens[-1][:, None], mask, pos, cache)
        tokens.append(choose(logits, rows, i, sampling))
    sync(device)
    return torch.stack(tokens, dim=1), first, time.perf_counter() - start  # (B, n)


def group_rows(adapter_per_row: Sequence[str | None]) -> dict[str | None, list[int]]:
    """Row indices per adapter, in order of first appearance."""
    groups: dict[str | None, list[int]] = {}
    for i, name in enumerate(adapter_per_row):
        groups.setdefault(name, []).append(i)
    return groups


def grouped_forward(
    batch: Batch,
    adapter_per_row: Sequence[str | None],
    run: Callable[[str | None, Batch], Tensor],
) -> Tensor:
    """Serve a mixed batch one adapter group after another; logits back in row order."""
    out: Tensor | None = None
    for name, idx in group_rows(adapter_per_row).items():
        logits = run(name, batch.rows(idx))  # (b, ...)
        if out is None:
            out = logits.new_empty((batch.size, *logits.shape[1:]))
        out[idx] = logits
    assert out is not None, "empty batch"
    return out


def grouped_generate(
    batch: Batch,
    adapter_per_row: Sequence[str | None],
    run: Callable[[str | None, Batch, list[int], float], tuple[Tensor, float, float]],
) -> Generation:
    """Generate for each adapter group in turn; later groups wait for earlier ones (queueing)."""
    start = time.perf_counter()
    tokens: Tensor | None = None
    ttft = [0.0] * batch.size
    e2e = [0.0] * batch.size
    for name, idx in group_rows(adapter_per_row).items():
        toks, first, last = run(name, batch.rows(idx), idx, start)  # (b, n)
        if tokens is None:
            tokens = toks.new_empty((batch.size, toks.shape[1]))
        tokens[idx] = toks
        for i in idx:
            ttft[i], e2e[i] = first, last
    assert tokens is not None, "empty batch"
    return Generation(tokens, ttft, e2e)
