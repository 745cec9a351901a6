"""Pooling strategies: what each one averages, and clear errors for bad names and sink counts."""

import pytest
import torch

from loralens.probing.pooling import (
    POOLINGS,
    PoolingError,
    check_sink_tokens,
    get_pooling,
    sink_mask,
)


def _hidden() -> tuple[torch.Tensor, torch.Tensor]:
    hidden = torch.arange(2 * 4 * 1, dtype=torch.float32).reshape(2, 4, 1)  # (B=2, T=4, d=1)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])  # right padding
    return hidden, mask


def test_each_pooling_averages_what_it_says() -> None:
    hidden, mask = _hidden()
    hidden[:, 0] += 1000.0  # a sink on the first token
    sinks = sink_mask([hidden], mask, 1, 0.0)
    assert POOLINGS["mean_nosink"].fn(hidden, mask, sinks).flatten().tolist() == [2.0, 5.0]
    assert POOLINGS["mean"].fn(hidden, mask, sinks).flatten().tolist() == [251.5, 504.5]
    assert POOLINGS["last"].fn(hidden, mask, sinks).flatten().tolist() == [3.0, 5.0]


def test_a_massive_activation_is_a_sink_wherever_it_is_and_at_whatever_layer() -> None:
    # (B=2, T=6, d=4) states of two layers, ones everywhere; row 0 holds a second-token sink at
    # layer 1 only; row 1 is 4 tokens long with a huge value in its padding.
    layers = [torch.ones(2, 6, 4), torch.ones(2, 6, 4)]
    layers[1][0, 1, 2] = 500.0
    layers[0][1, 5] = 1e6
    mask = torch.tensor([[1] * 6, [1, 1, 1, 1, 0, 0]])
    sinks = sink_mask(layers, mask, sink_tokens=1, sink_ratio=40.0)
    assert sinks.tolist() == [
        [True, True, False, False, False, False],
        [True, False, False, False, False, False],
    ]
    assert sink_mask(layers, mask, 1, 0.0)[:, 1:].sum() == 0  # 0: leading tokens only
    assert sink_mask(layers, mask, 0, 300.0).sum() == 0  # 500 / median 2 = 250 < 300
    pooled = POOLINGS["mean_nosink"].fn(layers[1], mask, sinks)
    assert torch.equal(pooled, torch.ones(2, 4))  # the spike is left out of the mean


def test_unknown_pooling_names_the_allowed_ones() -> None:
    with pytest.raises(PoolingError, match="allowed: mean_nosink, mean, last"):
        get_pooling("max")


def test_sink_count_must_leave_a_token_of_the_shortest_input() -> None:
    check_sink_tokens(1, torch.tensor([2, 9]))
    with pytest.raises(PoolingError, match="shortest probe input \\(2 tokens\\)"):
        check_sink_tokens(2, torch.tensor([2, 9]))
