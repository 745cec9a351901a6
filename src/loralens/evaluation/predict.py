"""Encode examples the same way for every model, and predict class logits in batches."""

from __future__ import annotations

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from loralens.batching import in_original_order, length_order
from loralens.data.fit import fit_examples
from loralens.data.spec import Example, TaskSpec


def encode(
    spec: TaskSpec, tokenizer: PreTrainedTokenizerBase, examples: list[Example], max_length: int
) -> list[dict]:
    """Tokenize each example's formatted input, its fields cut to max_length, with its label."""
    texts = [spec.format_input(e) for e in fit_examples(spec, tokenizer, examples, max_length)[0]]
    enc = tokenizer(texts, truncation=True, max_length=max_length)
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": e.label}
        for ids, mask, e in zip(enc["input_ids"], enc["attention_mask"], examples, strict=True)
    ]


def pad_batch(rows: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a list of encoded rows into tensors."""
    width = max(len(r["input_ids"]) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(rows), width), dtype=torch.long)  # (B, T)
    for i, r in enumerate(rows):
        ids[i, : len(r["input_ids"])] = torch.tensor(r["input_ids"])
        mask[i, : len(r["input_ids"])] = 1
    return {"input_ids": ids, "attention_mask": mask}


@torch.no_grad()
def predict_logits(
    model: PreTrainedModel, rows: list[dict], pad_id: int, batch_size: int = 32
) -> torch.Tensor:
    """Class logits (N, C) in float32 for encoded rows, in eval mode, batched by length."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    order = length_order([len(r["input_ids"]) for r in rows])
    out = []
    for start in range(0, len(rows), batch_size):
        batch = pad_batch([rows[i] for i in order[start : start + batch_size]], pad_id)
        logits = model(**{k: v.to(device) for k, v in batch.items()}).logits  # (B, C)
        out.append(logits.float().cpu())
    model.train(was_training)
    return in_original_order(torch.cat(out), order)
