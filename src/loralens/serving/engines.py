"""PEFT-based engines: merged copies, one active adapter at a time, and PEFT's mixed batches."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence

import torch
from peft import PeftModel
from torch import Tensor

from loralens.serving.adapters import AdapterSpec
from loralens.serving.base import BaseSource, Batch, model_inputs
from loralens.serving.decode import decode, grouped_forward, grouped_generate, hf_step
from loralens.serving.interface import (
    BASE_ROW,
    Capabilities,
    EngineOptions,
    Generation,
    Sampling,
)
from loralens.serving.peft_io import attach_adapters


class MergedEngine:
    """One merged model copy per adapter (plus the base); a mixed batch is split by adapter."""

    name = "merged"

    def __init__(self, options: EngineOptions) -> None:
        self.capabilities = Capabilities(supports_dora=True)
        self.copies: dict[str | None, torch.nn.Module] = {}

    def load(self, base: BaseSource, adapters: Sequence[AdapterSpec]) -> None:
        """Merge each adapter into its own fresh copy of the base (`merge_and_unload`)."""
        self.copies = {None: base.load()}
        for spec in adapters:
            peft = attach_adapters(base.load(), [spec], base.mode)
            self.copies[spec.name] = peft.merge_and_unload().eval()

    @torch.inference_mode()
    def forward(self, batch: Batch, adapter_per_row: Sequence[str | None]) -> Tensor:
        """Logits, each adapter group through its merged copy."""
        return grouped_forward(
            batch, adapter_per_row, lambda a, b: self.copies[a](**model_inputs(b)).logits
        )

    @torch.inference_mode()
    def generate(
        self,
        batch: Batch,
        adapter_per_row: Sequence[str | None],
        max_new_tokens: int,
        sampling: Sampling,
    ) -> Generation:
        """Each adapter group decoded to completion on its merged copy, one group after another."""
        return grouped_generate(
            batch,
            adapter_per_row,
            lambda a, b, rows, t0: decode(
                hf_step(self.copies[a]), b, rows, max_new_tokens, sampling, t0
            ),
        )

    def close(self) -> None:
        """Drop every copy."""
        self.copies = {}


class UnmergedEngine:
    """PEFT with every adapter loaded and one active at a time (`set_adapter` between groups)."""

    name = "unmerged"

    def __init__(self, options: EngineOptions) -> None:
        self.capabilities = Capabilities(supports_dora=True)
        self.peft: PeftModel | None = None

    def load(self, base: BaseSource, adapters: Sequence[AdapterSpec]) -> None:
        """Load every adapter into one PEFT model."""
        self.peft = attach_adapters(base.load(), adapters, base.mode)

    @contextlib.contextmanager
    def active(self, adapter: str | None) -> Iterator[PeftModel]:
        """The PEFT model with `adapter` active (None: adapters disabled, the plain base)."""
        assert self.peft is not None, "load() first"
        if adapter is None:
            with self.peft.disable_adapter():
                yield self.peft
            return
        self.peft.set_adapter(adapter, inference_mode=True)
        yield self.peft

    def _forward_one(self, adapter: str | None, batch: Batch) -> Tensor:
        with self.active(adapter) as model:
            return model(**model_inputs(batch)).logits

    @torch.inference_mode()
    def forward(self, batch: Batch, adapter_per_row: Sequence[str | None]) -> Tensor:
        """Logits, switching the active adapter between groups."""
        return grouped_forward(batch, adapter_per_row, self._forward_one)

    @torch.inference_mode()
    def generate(
        self,
        batch: Batch,
        adapter_per_row: Sequence[str | None],
        max_new_tokens: int,
        sampling: Sampling,
    ) -> Generation:
        """Each adapter group decoded to completion with its adapter active, one after another."""

        def run(adapter: str | None, b: Batch, rows: list[int], t0: float):
            with self.active(adapter) as model:
                return decode(hf_step(model), b, rows, max_new_tokens, sampling, t0)

        return grouped_generate(batch, adapter_per_row, run)

    def close(self) -> None:
        """Drop the model."""
        self.peft = None


class PeftMixedEngine:
    """PEFT's mixed-adapter batches: one pass, `adapter_names=` per row (`__base__` for none)."""

    name = "peft-mixed"

    def __init__(self, options: EngineOptions) -> None:
        self.capabilities = Capabilities(mixed_batches=True)
        self.peft: PeftModel | None = None

    def load(self, base: BaseSource, adapters: Sequence[AdapterSpec]) -> None:
        """Load every adapter into one PEFT model."""
        self.peft = attach_adapters(base.load(), adapters, base.mode)

    @staticmethod
    def _names(adapter_per_row: Sequence[str | None]) -> list[str]:
        return [BASE_ROW if a is None else a for a in adapter_per_row]

    @torch.inference_mode()
    def forward(self, batch: Batch, adapter_per_row: Sequence[str | None]) -> Tensor:
        """Logits for the whole batch in one call."""
        assert self.peft is not None, "load() first"
        names = self._names(adapter_per_row)
        return self.peft(**model_inputs(batch), adapter_names=names).logits

    @torch.inference_mode()
    def generate(
        self,
        batch: Batch,
        adapter_per_row: Sequence[str | None],
        max_new_tokens: int,
        sampling: Sampling,
    ) -> Generation:
        """The whole batch decoded together, `adapter_names` passed at every step."""
        assert self.peft is not None, "load() first"
        start = time.perf_counter()
        step = hf_step(self.peft, adapter_names=self._names(adapter_per_row))
        rows = list(range(batch.size))
        tokens, first, last = decode(step, batch, rows, max_new_tokens, sampling, start)
        return Generation(tokens, [first] * batch.size, [last] * batch.size)

    def close(self) -> None:
        """Drop the model."""
        self.peft = None
