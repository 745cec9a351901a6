"""Tokenizer and classifier loading: a pad token apart from EOS, and last-token pooling."""

from __future__ import annotations

from pathlib import Path

import torch

from loralens.models.load import load_classifier, load_tokenizer


def test_the_pad_token_is_not_eos_where_the_tokenizer_has_another(tiny_llama_dir: Path) -> None:
    tok = load_tokenizer(str(tiny_llama_dir))
    assert tok.pad_token_id is not None and tok.pad_token_id != tok.eos_token_id
    assert tok.padding_side == "right"


def test_left_and_right_padding_give_the_same_logits(tiny_llama_dir: Path) -> None:
    """The pooled position is the last real token, whichever side the padding is on; an input
    ending in EOS keeps its EOS as a real token."""
    model, tok = load_classifier(str(tiny_llama_dir), num_labels=3)
    model.eval()
    texts = ["a short one", "a much longer input with many more words in it" + tok.eos_token]
    with torch.no_grad():
        alone = torch.cat([model(**tok(t, return_tensors="pt")).logits for t in texts])  # (2, 3)
        sides = {}
        for side in ("left", "right"):
            tok.padding_side = side
            sides[side] = model(**tok(texts, return_tensors="pt", padding=True)).logits
    assert torch.allclose(sides["left"], alone, atol=1e-4)
    assert torch.allclose(sides["right"], alone, atol=1e-4)
    assert not torch.allclose(alone[0], alone[1])
