"""Length-sorted batching: the order, and the way back."""

from __future__ import annotations

import torch

from loralens.batching import in_original_order, length_order


def test_length_order_is_stable_and_sorted() -> None:
    lengths = [5, 2, 9, 2, 5]
    order = length_order(lengths)
    assert order == [1, 3, 0, 4, 2]
    assert [lengths[i] for i in order] == sorted(lengths)


def test_in_original_order_undoes_the_sort() -> None:
    rows = torch.arange(12.0).view(6, 2)  # (N, 2)
    order = length_order([3, 1, 4, 1, 5, 9])
    assert torch.equal(in_original_order(rows[order], order), rows)
