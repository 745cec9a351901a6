"""The language-modelling kind: blocks to train on, windows to score, only the splits asked for;
every test document can be read, and each scored one is a record whose scores average to the NLL."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from loralens.data import Example, load_task
from loralens.kinds import encoded_summary, get_kind
from loralens.models.load import load_tokenizer
from loralens.results.collect import example_scores

KIND = get_kind("language_modeling")


@pytest.fixture(scope="module")
def data():
    return load_task("convention_speeches")


def test_blocks_are_full_length_and_capped_by_the_budgets(data):
    tok = load_tokenizer("smollm2-135m")
    budgets = {"max_train": 20, "max_val": 5, "max_test": 7}
    rows = KIND.encode(data, tok, 64, budgets, 0, ("train", "val", "test"))
    assert len(rows["train"]) == 20 and len(rows["val"]) == 5
    assert {len(r["input_ids"]) for r in rows["train"] + rows["val"]} == {64}
    (plan,) = rows["test"]
    assert len(plan.windows) == 7 and plan.n_documents == len(data.splits.test)
    assert len(plan.scored_documents()) == 7  # 7 windows spread over 7 of the 28 speeches
    assert encoded_summary(KIND, data, rows)["test"] == {
        "documents": len(data.splits.test),
        "documents_scored": 7,
        "windows": plan.n_windows,
        "windows_scored": 7,
    }


def test_a_split_not_asked_for_is_never_encoded(data):
    tok = load_tokenizer("smollm2-135m")
    rows = KIND.encode(data, tok, 64, {"max_train": 4, "max_val": 2}, 0, ("train", "val"))
    assert set(rows) == {"train", "val"}


def test_train_val_and_test_blocks_come_from_different_documents(data):
    tok = load_tokenizer("smollm2-135m")
    rows = KIND.encode(data, tok, 32, {}, 0, ("train", "val"))
    train = {tuple(r["input_ids"]) for r in rows["train"]}
    assert not train & {tuple(r["input_ids"]) for r in rows["val"]}


class Favours(torch.nn.Module):
    """A planted 'language model': one token is near-certain, every other one unlikely."""

    def __init__(self, vocab: int, token: int) -> None:
        super().__init__()
        self.vocab, self.token = vocab, token
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None):
        b, t = input_ids.shape
        logits = torch.zeros(b, t, self.vocab) + self.w  # (B, T, V)
        logits[..., self.token] = 20.0
        return type("Out", (), {"logits": logits})()


@pytest.fixture(scope="module")
def planted(data):
    """Test documents: a long first one of the favoured token, then 9 of other words."""
    tok = load_tokenizer("smollm2-135m")
    (easy,) = tok(" a", add_special_tokens=False)["input_ids"]
    first = Example(texts=(" a" * 600,), label=0)
    later = [Example(texts=(f"zebra quantum violin {i} harbour " * 12,), label=0) for i in range(9)]
    test_set = dataclasses.replace(
        data, splits=dataclasses.replace(data.splits, test=[first, *later])
    )
    return test_set, tok, Favours(len(tok), easy)


def test_the_score_reads_the_later_documents_of_the_test_set(planted):
    data, tok, model = planted
    whole = KIND.evaluate(data, model, tok, KIND.encode(data, tok, 64, {}, 0, ("test",))["test"], 8)
    rows = KIND.encode(data, tok, 64, {"max_test": 12}, 0, ("test",))["test"]
    sampled = KIND.evaluate(data, model, tok, rows, 8)
    # the first document alone (what the first 12 windows read) scores near zero; the later
    # documents' tokens are unlikely (~20 nats): the sample must see them, as the whole set does
    first_only = next(r for r in whole.records if r["id"] == 0)
    assert first_only["nll_sum"] / first_only["tokens"] < 1.0
    assert whole.metrics["nll"] > 5.0
    assert sampled.metrics["nll"] == pytest.approx(whole.metrics["nll"], rel=0.35)
    # the first document alone holds 19 of the 36 windows: the first 12 read nothing else
    later = {r["id"] for r in sampled.records} - {0}
    assert len(later) >= 5 and "of 10 documents: 12 of 36 windows" in sampled.detail


def test_each_record_is_a_document_whose_scores_average_to_the_test_nll(planted):
    data, tok, model = planted
    rows = KIND.encode(data, tok, 64, {"max_test": 15}, 0, ("test",))["test"]
    result = KIND.evaluate(data, model, tok, rows, 8)
    ids = [r["id"] for r in result.records]
    assert ids == sorted(set(ids)) and set(ids) <= set(range(10))
    assert sum(r["windows"] for r in result.records) == 15
    total = sum(r["nll_sum"] for r in result.records) / sum(r["tokens"] for r in result.records)
    assert total == pytest.approx(result.metrics["nll"], rel=1e-12)
    scores = example_scores(result.records, result.metrics)["example_scores"]
    assert set(scores) == {"nll"}  # perplexity is not a mean of documents
    assert np.mean(scores["nll"]) == pytest.approx(result.metrics["nll"], abs=1e-9)
