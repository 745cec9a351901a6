"""What is timed: the settings of each workload, the request batches and the row -> adapter plans.

Inputs are random token ids (special tokens excluded) from a seeded generator, so every engine
sees the same batch. Timing batches have no padding (every row `prompt_length` tokens); the
correctness batch has varied lengths so that padding and masking are exercised too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import torch
from transformers import PreTrainedTokenizerBase

from loralens.config import ServingConfig
from loralens.serving.base import Batch

Workload = Literal["forward", "generate"]
Order = Literal["single", "round_robin", "random"]


@dataclass(frozen=True)
class Setting:
    """One timed configuration: workload, batch size, adapters mixed, their order, sampling."""

    workload: Workload
    batch_size: int
    k_adapters: int
    order: Order
    sampling: bool | None  # None for the forward workload


def mixed_batch_size(serving: ServingConfig) -> int:
    """Rows of a mixed-adapter forward batch (default: the largest batch size)."""
    return serving.mixed_batch_size or max(serving.batch_sizes)


def forward_settings(serving: ServingConfig) -> list[Setting]:
    """Single-adapter forward at each batch size, then mixed batches of K adapters per order."""
    out = [Setting("forward", b, 1, "single", None) for b in sorted(set(serving.batch_sizes))]
    size = mixed_batch_size(serving)
    if size not in serving.batch_sizes:
        out.append(Setting("forward", size, 1, "single", None))
    for k in sorted(set(serving.num_adapters)):
        if k > 1:
            out += [Setting("forward", size, k, order, None) for order in serving.orders]
    return out


def generate_settings(serving: ServingConfig) -> list[Setting]:
    """Generation at the generation batch size: K adapters x orders x (greedy, sampling).

    K = 1 is always included: it is the baseline of `overhead_vs_merged`.
    """
    size = serving.generation_batch_size
    out = []
    for sampling in serving.sampling:
        for k in sorted({1, *serving.num_adapters}):
            orders = ["single"] if k == 1 else serving.orders
            out += [Setting("generate", size, k, order, sampling) for order in orders]
    return out


def assign(setting: Setting, names: list[str], seed: int) -> list[str]:
    """The adapter of each row: the first K adapters round-robin, shuffled for `random`."""
    plan = [names[i % setting.k_adapters] for i in range(setting.batch_size)]
    if setting.order == "random":
        random.Random(f"{seed}-{setting}").shuffle(plan)
    return plan


def _vocabulary(tok: PreTrainedTokenizerBase) -> torch.Tensor:
    """Token ids that are not special tokens. (V',)"""
    special = set(tok.all_special_ids)
    return torch.tensor([i for i in range(len(tok)) if i not in special])


def make_batch(
    tok: PreTrainedTokenizerBase,
    lengths: list[int],
    padding_side: Literal["left", "right"],
    seed: int,
) -> Batch:
    """Random prompts of the given lengths, padded to the longest with the pad token."""
    gen = torch.Generator().manual_seed(seed)
    vocab = _vocabulary(tok)
    width = max(lengths)
    ids = torch.full((len(lengths), width), tok.pad_token_id, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(lengths), width), dtype=torch.long)  # (B, T)
    for row, n in enumerate(lengths):
        tokens = vocab[torch.randint(len(vocab), (n,), generator=gen)]
        span = slice(width - n, width) if padding_side == "left" else slice(0, n)
        ids[row, span], mask[row, span] = tokens, 1
    return Batch(ids, mask)


def check_lengths(rows: int, prompt_length: int, seed: int) -> list[int]:
    """Varied prompt lengths for the correctness batch (at most 24 tokens, to stay cheap)."""
    top = min(prompt_length, 24)
    rng = random.Random(seed)
    lengths = [rng.randint(max(2, top // 2), top) for _ in range(rows)]
    lengths[0] = top
    return lengths
