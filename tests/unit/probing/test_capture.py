"""Representation capture: length-sorted batches return each text's rows in the given order."""

from __future__ import annotations

from pathlib import Path

import torch

from loralens.probing.capture import capture


def test_batched_capture_equals_one_text_at_a_time(
    tiny_llama_dir: Path, mixed_length_texts: list[str]
) -> None:
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    model = AutoModel.from_pretrained(tiny_llama_dir)
    batched = capture(model, tok, mixed_length_texts, max_length=32, batch_size=2)
    alone = [capture(model, tok, [t], max_length=32) for t in mixed_length_texts]
    assert set(batched) == {f"{p}.layer_{i}" for p in ("mean", "last") for i in range(3)}
    for key, reps in batched.items():
        assert reps.shape == (len(mixed_length_texts), 64)
        assert torch.allclose(reps, torch.cat([a[key] for a in alone]), atol=1e-5), key
