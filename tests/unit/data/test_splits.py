"""Splits: disjoint, stratified, deterministic, seed-independent; duplicates leave training."""

from collections import Counter

import pytest

from loralens.data import load_task
from loralens.data.spec import Example
from loralens.data.splits import make_splits, normalize, stratified_indices
from loralens.errors import DataError


def _pool(n: int, pos_share: float = 0.3) -> list[Example]:
    return [Example((f"text {i}",), int(i < n * pos_share)) for i in range(n)]


def _keys(examples: list[Example]) -> set[str]:
    return {normalize(e) for e in examples}


def test_splits_are_disjoint_and_stratified() -> None:
    s = make_splits(_pool(1000), None, val_fraction=0.1, test_fraction=0.2, seed=0)
    assert len(s.test) == 200 and len(s.val) == 80 and len(s.train) == 720
    assert not (_keys(s.train) & _keys(s.val) or _keys(s.train) & _keys(s.test))
    assert not _keys(s.val) & _keys(s.test)
    for split in (s.train, s.val, s.test):
        share = sum(e.label for e in split) / len(split)
        assert share == pytest.approx(0.3, abs=0.01)


def test_splits_are_deterministic_and_depend_only_on_split_seed() -> None:
    a = make_splits(_pool(500), None, val_fraction=0.1, test_fraction=0.2, seed=0)
    b = make_splits(_pool(500), None, val_fraction=0.1, test_fraction=0.2, seed=0)
    c = make_splits(_pool(500), None, val_fraction=0.1, test_fraction=0.2, seed=1)
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()


def test_duplicates_of_held_out_text_are_removed_from_training_side() -> None:
    test = [Example(("Same  Text",), 1), *(Example((f"other {i}",), i % 2) for i in range(4))]
    pool = [*_pool(100), Example(("same text ",), 1), Example(("  SAME text",), 0)]
    s = make_splits(pool, test, val_fraction=0.1, test_fraction=0.2, seed=0)
    assert s.duplicates_removed == 2
    assert "same text" not in _keys(s.train) | _keys(s.val)
    assert s.test == test  # the official held-out set is kept whole


def test_subsample_limits_are_stratified() -> None:
    s = make_splits(
        _pool(2000), None, val_fraction=0.1, test_fraction=0.2, seed=0, max_train=100, max_test=50
    )
    assert len(s.train) == 100 and len(s.test) == 50
    assert Counter(e.label for e in s.train) == {0: 70, 1: 30}


def test_stratified_indices_exact_size_and_class_balance() -> None:
    import numpy as np

    labels = np.array([0] * 7 + [1] * 3 + [2] * 5)
    idx = stratified_indices(labels, 6, seed=3)
    assert len(idx) == 6 and len(set(idx)) == 6
    assert sorted(Counter(labels[idx]).values()) == [1, 2, 3]


def test_empty_split_is_an_error() -> None:
    with pytest.raises(DataError, match="empty"):
        make_splits(
            _pool(3),
            [Example(("text 0",), 1), Example(("text 1",), 0), Example(("text 2",), 0)],
            val_fraction=0.3,
            test_fraction=0.2,
            seed=0,
        )


def test_real_glue_mrpc_test_is_the_validation_set(glue_dir) -> None:
    data = load_task("mrpc", glue_dir)
    s = data.splits
    assert len(s.test) == 408
    assert Counter(e.label for e in s.test) == {1: 279, 0: 129}
    assert len(s.train) + len(s.val) + s.duplicates_removed == 3668
    assert not _keys(s.train) & _keys(s.test)


def test_rotten_tomatoes_offline_drops_plot_rows() -> None:
    s = load_task("rotten_tomatoes").splits
    total = len(s.train) + len(s.val) + len(s.test) + s.duplicates_removed
    assert total == 12808
    assert {e.label for e in s.test} == {0, 1}


def test_splits_too_small_or_of_one_class_are_one_clear_error() -> None:
    with pytest.raises(DataError, match="the test split has 3 example"):
        make_splits(_pool(100), _pool(3), val_fraction=0.1, test_fraction=0.2, seed=0)
    one_class = [Example((f"text {i}",), 1) for i in range(40)]
    with pytest.raises(DataError, match="the train split holds one class"):
        make_splits(one_class, _pool(10), val_fraction=0.1, test_fraction=0.2, seed=0)


def test_too_little_data_says_what_the_test_split_took_not_duplicates() -> None:
    one = [Example(texts=("the only document",), label=0)]
    with pytest.raises(DataError) as info:
        make_splits(one, None, val_fraction=0.1, test_fraction=0.15, seed=0, min_classes=1)
    assert str(info.value) == (
        "1 training example(s) leave 0 for train and val once the test split is set aside, so "
        "they would be empty; a task needs at least 11 (train 4, val 2, test 5): provide more data"
    )
    repeats = [Example(texts=("same",), label=0)] * 3
    with pytest.raises(DataError, match=r"leave 0 for train and val .*, 3 repeating a test"):
        make_splits(repeats, repeats[:1], val_fraction=0.1, test_fraction=0.15, seed=0)
