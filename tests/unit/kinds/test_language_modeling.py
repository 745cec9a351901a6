"""The language-modelling kind: blocks to train on, windows to score, only the splits asked for."""

from __future__ import annotations

import pytest

from loralens.data import load_task
from loralens.kinds import get_kind
from loralens.models.load import load_tokenizer

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
    (test,) = rows["test"]
    assert len(test["windows"]) == 7 and test["windows"][1].first == test["windows"][0].end


def test_a_split_not_asked_for_is_never_encoded(data):
    tok = load_tokenizer("smollm2-135m")
    rows = KIND.encode(data, tok, 64, {"max_train": 4, "max_val": 2}, 0, ("train", "val"))
    assert set(rows) == {"train", "val"}


def test_train_val_and_test_blocks_come_from_different_documents(data):
    tok = load_tokenizer("smollm2-135m")
    rows = KIND.encode(data, tok, 32, {}, 0, ("train", "val"))
    train = {tuple(r["input_ids"]) for r in rows["train"]}
    assert not train & {tuple(r["input_ids"]) for r in rows["val"]}
