"""Representation capture: length-sorted batches return each text's rows in the given order."""

from __future__ import annotations

from pathlib import Path

import torch

from loralens.probing.capture import capture

TEXTS = [
    "a long review that goes on and on about the film and its many, many flaws",
    "fine",
    "a warm and funny film",
    "dull",
    "the best thing I have seen in a cinema for years, and I have seen a lot of films",
]


def test_batched_capture_equals_one_text_at_a_time(tiny_llama_dir: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    model = AutoModel.from_pretrained(tiny_llama_dir)
    batched = capture(model, tok, TEXTS, max_length=32, batch_size=2)
    alone = [capture(model, tok, [t], max_length=32) for t in TEXTS]
    assert set(batched) == {f"{p}.layer_{i}" for p in ("mean", "last") for i in range(3)}
    for key, reps in batched.items():
        assert reps.shape == (len(TEXTS), 64)
        assert torch.allclose(reps, torch.cat([a[key] for a in alone]), atol=1e-5), key
