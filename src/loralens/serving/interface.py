"""The engine interface: a Protocol (a shape, not a base class) plus the values engines exchange.

An engine loads one base model and a set of adapters, then serves batches whose rows may each
name a different adapter (None = the base model). In-process engines hold PyTorch models; a
process-based engine (an OpenAI-compatible server such as vLLM) implements the same methods over
HTTP and declares what it cannot do through `Capabilities` (e.g. no `forward` logits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from loralens.config import ServingConfig
from loralens.serving.adapters import AdapterSpec
from loralens.serving.base import BaseSource, Batch

BASE_ROW = "__base__"  # how results name rows served by the base model (adapter None)


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do; the benchmark skips workloads an engine does not support."""

    supports_forward: bool = True  # returns logits (a server may only generate)
    supports_generate: bool = True
    mixed_batches: bool = False  # serves rows of different adapters in one pass (vs. splitting)
    max_rank: int | None = None  # largest LoRA rank it can serve (None: unlimited)
    supports_dora: bool = False
    in_process: bool = True  # memory is measured as this process's RSS / CUDA allocation
    exact_greedy: bool = True  # greedy tokens must equal the reference (False: agreement rate)


@dataclass(frozen=True)
class Sampling:
    """Token choice: greedy (argmax) or seeded sampling at a temperature."""

    greedy: bool = True
    temperature: float = 1.0
    seed: int = 0


@dataclass(frozen=True)
class Generation:
    """Generated tokens with per-row timings in seconds since the `generate` call began."""

    tokens: Tensor  # (B, n_new) long
    ttft_s: list[float]  # time to each row's first token (prefill, plus any queueing)
    e2e_s: list[float]  # time to each row's last token


@dataclass(frozen=True)
class EngineOptions:
    """Settings every engine constructor receives."""

    device: torch.device
    max_rank: int = 64
    serving: ServingConfig | None = None  # every serving setting, for engines that need more


@runtime_checkable
class Engine(Protocol):
    """A way of serving one base model with several LoRA adapters."""

    name: str
    capabilities: Capabilities

    def load(self, base: BaseSource, adapters: Sequence[AdapterSpec]) -> None:
        """Load the base model and every adapter; afterwards rows may name any of them."""
        ...

    def forward(self, batch: Batch, adapter_per_row: Sequence[str | None]) -> Tensor:
        """Logits for a batch: (B, num_labels) for classifiers, (B, T, vocab) for LMs."""
        ...

    def generate(
        self,
        batch: Batch,
        adapter_per_row: Sequence[str | None],
        max_new_tokens: int,
        sampling: Sampling,
    ) -> Generation:
        """Exactly `max_new_tokens` new tokens per row (EOS does not stop), with timings."""
        ...

    def close(self) -> None:
        """Release models and memory."""
        ...
