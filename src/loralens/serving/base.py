"""The base model as engines receive it (a factory of fresh copies) and the batches they serve."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from loralens.errors import ModelError
from loralens.models.load import load_tokenizer
from loralens.models.registry import resolve_model

Mode = Literal["classify", "generate"]


@dataclass(frozen=True)
class Batch:
    """Token ids and their attention mask; padding is right (classify) or left (generate)."""

    input_ids: Tensor  # (B, T) long
    attention_mask: Tensor  # (B, T) long, 1 = real token

    @property
    def size(self) -> int:
        """Number of rows."""
        return int(self.input_ids.shape[0])

    def rows(self, index: Sequence[int]) -> Batch:
        """The sub-batch of the given rows (the same object if that is every row in order)."""
        if list(index) == list(range(self.size)):
            return self
        idx = torch.as_tensor(list(index), device=self.input_ids.device)
        return Batch(self.input_ids[idx], self.attention_mask[idx])

    def to(self, device: torch.device) -> Batch:
        """The batch on `device`."""
        return Batch(self.input_ids.to(device), self.attention_mask.to(device))


def position_ids(attention_mask: Tensor) -> Tensor:
    """Positions counted over real tokens only, so left padding does not shift them. (B, T)"""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def model_inputs(batch: Batch) -> dict[str, Tensor]:
    """Keyword arguments of an HF forward call for a padded batch."""
    return {
        "input_ids": batch.input_ids,
        "attention_mask": batch.attention_mask,
        "position_ids": position_ids(batch.attention_mask),
    }


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so that wall-clock timings are real."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load warnings and progress bars, restoring them afterwards."""
    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


@dataclass
class BaseSource:
    """Makes fresh copies of the base model for one mode, identical down to the classifier head."""

    model_name: str
    mode: Mode
    device: torch.device
    num_labels: int = 2
    dtype: torch.dtype = torch.float32
    _head: dict[str, Tensor] | None = field(default=None, repr=False)
    _tokenizer: PreTrainedTokenizerBase | None = field(default=None, repr=False)

    @property
    def path(self) -> str | Path:
        """The loadable folder or hub id of the base model."""
        return resolve_model(self.model_name)[0]

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The base model's tokenizer (pad token set)."""
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.model_name)
        return self._tokenizer

    def config(self):
        """The base model's HF config (no weights)."""
        return AutoConfig.from_pretrained(self.path, local_files_only=isinstance(self.path, Path))

    def load(self) -> PreTrainedModel:
        """A fresh eval-mode copy whose weights live in process memory (not a file mapping)."""
        path = self.path
        kwargs = {"dtype": self.dtype, "local_files_only": isinstance(path, Path)}
        try:
            with quiet_transformers():
                if self.mode == "classify":
                    model = AutoModelForSequenceClassification.from_pretrained(
                        path, num_labels=self.num_labels, **kwargs
                    )
                else:
                    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load {self.model_name} for {self.mode}: {exc}") from None
        model.config.pad_token_id = self.tokenizer.pad_token_id
        _materialize(model)
        self._pin_head(model)
        return model.to(self.device).eval()

    def _pin_head(self, model: PreTrainedModel) -> None:
        """Give every copy the same (randomly initialised) classifier head as the first one."""
        if self.mode != "classify":
            return
        head = {
            k: v for k, v in model.state_dict().items() if k.startswith(("score", "classifier"))
        }
        if self._head is None:
            self._head = {k: v.detach().clone() for k, v in head.items()}
        else:
            model.load_state_dict(self._head, strict=False)


def _materialize(model: torch.nn.Module) -> None:
    """Copy weights memory-mapped from the checkpoint into owned memory, so RSS counts them."""
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:  # tied weights appear once
            tensor.data = tensor.data.clone()
