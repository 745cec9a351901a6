"""Pooling strategies: what each one averages, and clear errors for bad names and sink counts."""

import pytest
import torch

from loralens.probing.pooling import POOLINGS, PoolingError, check_sink_tokens, get_pooling


def _hidden() -> tuple[torch.Tensor, torch.Tensor]:
    hidden = torch.arange(2 * 4 * 1, dtype=torch.float32).reshape(2, 4, 1)  # (B=2, T=4, d=1)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])  # right padding
    return hidden, mask


def test_each_pooling_averages_what_it_says() -> None:
    hidden, mask = _hidden()
    hidden[:, 0] += 1000.0  # a sink on the first token
    assert POOLINGS["mean_nosink"].fn(hidden, mask, 1).flatten().tolist() == [2.0, 5.0]
    assert POOLINGS["mean"].fn(hidden, mask, 1).flatten().tolist() == [251.5, 504.5]
    assert POOLINGS["last"].fn(hidden, mask, 1).flatten().tolist() == [3.0, 5.0]


def test_unknown_pooling_names_the_allowed_ones() -> None:
    with pytest.raises(PoolingError, match="allowed: mean_nosink, mean, last"):
        get_pooling("max")


def test_sink_count_must_leave_a_token_of_the_shortest_input() -> None:
    check_sink_tokens(1, torch.tensor([2, 9]))
    with pytest.raises(PoolingError, match="shortest probe input \\(2 tokens\\)"):
        check_sink_tokens(2, torch.tensor([2, 9]))
