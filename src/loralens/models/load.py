"""Load registered or Hugging Face models for sequence classification or causal LM, offline-safe."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from loralens.errors import ModelError
from loralens.models.registry import resolve_model


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """The model's tokenizer, with a pad token set and right padding (last-token pooling)."""
    path, _ = resolve_model(name)
    tok = AutoTokenizer.from_pretrained(path, local_files_only=isinstance(path, Path))
    tok.pad_token = pad_token(tok)
    tok.padding_side = "right"
    return tok


def pad_token(tok: PreTrainedTokenizerBase) -> str | None:
    """A pad token distinct from EOS where the tokenizer has one (its own pad, else its unknown
    token), else EOS: a decoder's classifier finds its last real token by the pad id, and an
    EOS that doubles as pad would hide an input's own end-of-turn token."""
    for candidate in (tok.pad_token, tok.unk_token):
        if candidate is not None and candidate != tok.eos_token:
            return candidate
    return tok.pad_token or tok.eos_token


def load_classifier(
    name: str, num_labels: int, dtype: torch.dtype = torch.float32
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A sequence-classification model (decoders pool the last real token) and its tokenizer."""
    path, _ = resolve_model(name)
    tok = load_tokenizer(name)
    local = isinstance(path, Path)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=num_labels, dtype=dtype, local_files_only=local
        )
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load {name} for sequence classification: {exc}") from None
    model.config.pad_token_id = tok.pad_token_id
    return model, tok


def load_causal_lm(
    name: str, dtype: torch.dtype = torch.float32
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A causal LM (for zero-shot scoring and generation) and its tokenizer."""
    path, _ = resolve_model(name)
    tok = load_tokenizer(name)
    model = AutoModelForCausalLM.from_pretrained(
        path, dtype=dtype, local_files_only=isinstance(path, Path)
    )
    model.config.pad_token_id = tok.pad_token_id
    return model, tok
