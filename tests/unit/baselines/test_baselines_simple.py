"""Majority and stratified-random baselines."""

import numpy as np

from loralens.baselines.simple import majority_predictions, random_predictions


def test_majority_is_the_most_frequent_label_with_low_index_ties() -> None:
    assert set(majority_predictions([0, 1, 1, 2], 5)) == {1}
    assert set(majority_predictions([1, 0], 3)) == {0}


def test_random_follows_the_training_distribution_and_the_seed() -> None:
    train = [0] * 700 + [1] * 300
    preds = random_predictions(train, 20000, seed=0)
    assert abs(preds.mean() - 0.3) < 0.02
    assert np.array_equal(preds, random_predictions(train, 20000, seed=0))
    assert not np.array_equal(preds, random_predictions(train, 20000, seed=1))


def test_baseline_intervals_match_the_value_they_are_shown_with() -> None:
    from loralens.baselines.run import majority, stratified_random
    from loralens.data import load_task

    data = load_task("rotten_tomatoes")
    rand = stratified_random(data)
    # A mean over seeds is shown with its SD over seeds, not with one seed's bootstrap CI.
    assert rand["ci"] is None and rand["std"]["accuracy"] > 0
    maj = majority(data)
    low, high = maj["ci"]["accuracy"]
    assert low <= maj["test"]["accuracy"] <= high and maj["std"] is None
