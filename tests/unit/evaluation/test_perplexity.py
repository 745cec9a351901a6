"""Perplexity over strided windows: every token scored once, with the context the stride gives."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from loralens.errors import ConfigError
from loralens.evaluation.perplexity import (
    blocks,
    check_block,
    document_ids,
    nll_metrics,
    per_document,
    scoring_plan,
    systematic_sample,
    token_stream,
    window_nll,
    windows,
)


@pytest.mark.parametrize(
    ("n", "block", "stride"), [(10, 4, 2), (10, 4, 4), (9, 4, 1), (3, 8, 4), (100, 16, 8)]
)
def test_windows_score_every_token_from_one_on_exactly_once(n, block, stride):
    wins = windows(n, block, stride)
    scored = [i for w in wins for i in range(w.first, w.end)]
    assert scored == list(range(1, n))
    assert all(w.end - w.begin <= block and w.first > w.begin for w in wins)


def test_windows_give_each_scored_token_the_stride_context():
    wins = windows(100, 16, 8)
    # after the first window, each scored token has at least block - stride tokens before it
    assert all(w.first - w.begin >= 8 for w in wins[1:])


def test_a_systematic_sample_spans_the_whole_set_and_is_fixed_by_its_seed():
    picks = systematic_sample(1000, 10, 4)
    assert len(set(picks)) == 10 and picks == systematic_sample(1000, 10, 4)
    assert picks[0] < 100 and picks[-1] >= 900  # one per tenth: the end is read too
    assert systematic_sample(7, None, 0) == systematic_sample(7, 9, 0) == list(range(7))
    with pytest.raises(ConfigError, match="at least 1"):
        systematic_sample(7, 0, 0)


def test_each_item_is_sampled_with_equal_chance():
    counts = np.zeros(50)
    for seed in range(2000):
        counts[systematic_sample(50, 7, seed)] += 1
    assert counts.sum() == 2000 * 7
    np.testing.assert_allclose(counts / 2000, 7 / 50, atol=0.03)


def test_a_scoring_plan_keeps_windows_inside_their_documents():
    docs = [list(range(30)), list(range(100, 105)), list(range(200, 250))]
    plan = scoring_plan(docs, 8, 4, None, 0)
    assert plan.n_documents == 3 and len(plan.windows) == plan.n_windows
    starts = np.cumsum([0, 30, 5])
    for w, d in zip(plan.windows, plan.documents, strict=True):
        lo, hi = starts[d], starts[d] + len(docs[d])
        assert lo <= w.begin < w.first < w.end <= hi
    # every token of every document but its first (the EOS before it) is scored once
    scored = sorted(i for w in plan.windows for i in range(w.first, w.end))
    assert len(scored) == len(set(scored)) == sum(len(d) - 1 for d in docs)
    assert plan.scored_documents() == [0, 1, 2]


def test_a_window_budget_reads_every_document_not_the_first():
    docs = [list(range(1000, 1200)) for _ in range(20)]  # 20 documents of 200 tokens
    plan = scoring_plan(docs, 16, 8, 40, 4)  # 40 of 480 windows
    assert len(plan.windows) == 40 and plan.n_windows == 20 * 24
    assert plan.scored_documents() == list(range(20))


def test_per_document_sums_the_windows_of_each_document():
    per_window = np.array([[1.0, 2], [3.0, 4], [5.0, 6]])
    assert per_document(per_window, [0, 0, 2]) == {0: (4.0, 6), 2: (5.0, 6)}


def test_windows_reject_a_stride_outside_the_block():
    with pytest.raises(ConfigError, match=r"stride 0 must be in 1\.\.4"):
        windows(10, 4, 0)


def test_check_block_names_the_model_context():
    check_block(64, 256)
    with pytest.raises(ConfigError, match="exceeds the model's context of 256 tokens"):
        check_block(512, 256)


def test_blocks_are_full_and_a_seeded_subset():
    ids = list(range(103))
    rows = blocks(ids, 10, None, 0)
    assert len(rows) == 10 and all(r["labels"] == r["input_ids"] for r in rows)
    picked = blocks(ids, 10, 4, 0)
    assert picked == blocks(ids, 10, 4, 0) and len(picked) == 4
    assert all(r in rows for r in picked)


class Uniform(torch.nn.Module):
    """A 'language model' predicting every token with probability 1/V (planted perplexity V)."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None):
        b, t = input_ids.shape
        return type("Out", (), {"logits": torch.zeros(b, t, self.vocab) + self.w})()


def test_a_uniform_model_has_perplexity_equal_to_the_vocabulary():
    ids = list(np.random.default_rng(0).integers(0, 50, size=40))
    per_window = window_nll(Uniform(50), ids, windows(40, 8, 4), batch_size=3)
    assert per_window[:, 1].sum() == 39
    assert nll_metrics(per_window)["perplexity"] == pytest.approx(50.0)


def test_window_nll_equals_one_pass_when_the_block_covers_the_text(tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    ids = list(np.random.default_rng(1).integers(0, 1000, size=30))
    x = torch.tensor([ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=x).logits[0, :-1], -1)
    direct = -logp.gather(-1, x[0, 1:, None]).sum().item()
    one = window_nll(model, ids, windows(30, 32, 16))
    strided = window_nll(model, ids, windows(30, 10, 5), batch_size=2)
    assert one[:, 0].sum() == pytest.approx(direct, rel=1e-5)
    assert strided[:, 1].sum() == 29
    # less context per token: a different (here random-model) number, never the same windows
    assert math.isfinite(strided[:, 0].sum())


def test_token_stream_ends_each_document_with_eos():
    from loralens.models.load import load_tokenizer

    tok = load_tokenizer("smollm2-135m")
    ids = token_stream(tok, ["one two", "three"])
    assert ids.count(tok.eos_token_id) == 2 and ids[-1] == tok.eos_token_id
    docs = document_ids(tok, ["one two", "three"])
    assert [d[0] for d in docs] == [d[-1] for d in docs] == [tok.eos_token_id] * 2
    assert sum(len(d) - 1 for d in docs) == len(ids)  # the same tokens scored
