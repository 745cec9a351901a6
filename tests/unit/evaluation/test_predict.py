"""Batched prediction: length-sorted batches give each row the logits it gets alone, in order."""

from __future__ import annotations

from pathlib import Path

import torch

from loralens.evaluation.predict import predict_logits


def test_batched_logits_equal_one_row_at_a_time(
    tiny_llama_dir: Path, mixed_length_texts: list[str]
) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_llama_dir, num_labels=3)
    model.config.pad_token_id = tok.pad_token_id
    enc = tok(mixed_length_texts, truncation=True, max_length=32)
    rows = [{"input_ids": ids, "attention_mask": m} for ids, m in zip(*enc.values(), strict=True)]
    batched = predict_logits(model, rows, tok.pad_token_id, batch_size=3)  # (N, 3)
    alone = torch.cat([predict_logits(model, [r], tok.pad_token_id) for r in rows])
    assert batched.shape == (len(mixed_length_texts), 3)
    assert torch.allclose(batched, alone, atol=1e-5)
    assert not torch.allclose(batched[0], batched[1])  # rows are not interchangeable
