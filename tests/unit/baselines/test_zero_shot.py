"""Zero-shot scoring: the log-likelihood of a choice, by hand and by both code paths."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from loralens.baselines import zero_shot
from loralens.baselines.zero_shot import (
    choice_logprobs,
    choice_sequences,
    next_token_logprobs,
    sequence_logprobs,
)

PROMPTS = [
    "Review: a warm, funny film.\nSentiment:",
    "Review: dull and far too long, with nothing to say about anything at all.\nSentiment:",
    "Review: fine.\nSentiment:",
]


@pytest.fixture(scope="module")
def lm(tiny_llama_dir: Path):
    """The tiny random Llama as a causal LM, and its tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    return model, AutoTokenizer.from_pretrained(tiny_llama_dir)


def _by_hand(model, ids: list[int], k: int) -> float:
    """Sum of log p(token | prefix) over the last k tokens, one unpadded forward pass."""
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]  # (T, V)
    logp = F.log_softmax(logits.double(), dim=-1)
    return float(sum(logp[t - 1, ids[t]] for t in range(len(ids) - k, len(ids))))


def test_sequence_logprobs_match_an_unpadded_forward_pass(lm) -> None:
    model, tok = lm
    seqs = [s for p in PROMPTS for s in choice_sequences(tok, p, [" great", " awful movie"])]
    got = sequence_logprobs(model, seqs, tok.pad_token_id, batch_size=4)  # mixed widths, padded
    want = torch.tensor([_by_hand(model, ids, k) for ids, k in seqs], dtype=torch.float64)
    assert torch.allclose(got.double(), want, atol=1e-4)
    assert {k for _, k in seqs} == {1, 2}  # a one-token and a two-token choice


def test_one_forward_per_prompt_gives_the_same_scores_as_one_per_choice(
    lm, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, tok = lm
    choices = [" positive", " negative"]
    assert all(len(tok(c, add_special_tokens=False)["input_ids"]) == 1 for c in choices)
    flat = [s for p in PROMPTS for s in choice_sequences(tok, p, choices)]
    slow = sequence_logprobs(model, flat, tok.pad_token_id, batch_size=2).view(len(PROMPTS), 2)

    def one_pass_per_choice(*_args, **_kwargs):
        raise AssertionError("one-token choices should need one forward pass per prompt")

    monkeypatch.setattr(zero_shot, "sequence_logprobs", one_pass_per_choice)
    fast = choice_logprobs(model, tok, PROMPTS, choices, batch_size=2)  # (N, C)
    assert fast.shape == (len(PROMPTS), 2)
    assert torch.allclose(fast, slow, atol=1e-4)


def test_multi_token_choices_take_the_general_path(lm) -> None:
    model, tok = lm
    choices = [" yes indeed", " no"]
    scores = choice_logprobs(model, tok, PROMPTS[:2], choices, batch_size=8)
    want = [
        [_by_hand(model, ids, k) for ids, k in choice_sequences(tok, p, choices)]
        for p in PROMPTS[:2]
    ]
    assert torch.allclose(scores.double(), torch.tensor(want, dtype=torch.float64), atol=1e-4)


def test_next_token_logprobs_reads_each_rows_last_real_position(lm) -> None:
    model, tok = lm
    short, long = tok("a b")["input_ids"], tok("a b c d e f g")["input_ids"]
    targets = torch.tensor([[5, 6], [7, 8]])
    got = next_token_logprobs(model, [short, long], targets, tok.pad_token_id, batch_size=2)
    for row, ids in enumerate([short, long]):
        for col in range(2):
            want = _by_hand(model, [*ids, int(targets[row, col])], 1)
            assert got[row, col].item() == pytest.approx(want, abs=1e-4)
