"""The fused multi-LoRA engine: wrappers, stacking, routing, and equality with PEFT."""

from __future__ import annotations

import random

import pytest
import torch
from peft.tuners.lora import LoraLayer
from torch import nn

from loralens.serving.adapters import read_adapter
from loralens.serving.engines import UnmergedEngine
from loralens.serving.errors import ServingError
from loralens.serving.fused import FusedEngine
from loralens.serving.interface import Sampling
from loralens.serving.multilora import MultiHeadLinear, MultiLoraLinear, RowRouting
from loralens.serving.synthetic import make_synthetic_adapters
from tests.unit.serving._serving_helpers import (
    real_positions,
    reference_logits,
    reference_tokens,
    source,
    varied_batch,
)


def _pair(model_dir, adapters, options, mode):
    src = source(model_dir, mode)
    ref, fused = UnmergedEngine(options), FusedEngine(options)
    ref.load(src, adapters)
    fused.load(src, adapters)
    return src, ref, fused


def _assert_matches(src, ref, fused, plan, tokens: bool) -> None:
    batch = varied_batch(src, len(plan), seed=len(plan) + 1)
    want = real_positions(reference_logits(ref, batch, plan), batch)
    got = real_positions(fused.forward(batch, plan), batch)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-5)
    if tokens:
        want_tokens = reference_tokens(ref, batch, plan, 4, Sampling())
        assert torch.equal(fused.generate(batch, plan, 4, Sampling()).tokens, want_tokens)


@pytest.mark.parametrize("mode", ["classify", "generate"])
def test_single_adapter_stack_with_base_rows(tiny_llama_dir, tiny_adapters, cpu_options, mode):
    """K = 1: a one-adapter stack serves adapter rows and base rows in one batch."""
    src, ref, fused = _pair(tiny_llama_dir, tiny_adapters[:1], cpu_options, mode)
    name = tiny_adapters[0].name
    _assert_matches(src, ref, fused, [name, None, None, name, name], mode == "generate")


@pytest.mark.parametrize("mode", ["classify", "generate"])
def test_different_targets_and_ranks_in_one_batch(
    tiny_llama_dir, tiny_adapters, cpu_options, tmp_path, mode
):
    """Adapters adapting different modules (q/v vs q/k/v/o) and ranks share one fused batch."""
    paths = make_synthetic_adapters(
        str(tiny_llama_dir), tmp_path, 1, ranks=[3], targets="qkvo", seed=9, start=20
    )
    adapters = [tiny_adapters[0], tiny_adapters[2], read_adapter(paths[0])]
    src, ref, fused = _pair(tiny_llama_dir, adapters, cpu_options, mode)
    plan = [a.name for a in adapters] * 2 + [None]
    random.Random(1).shuffle(plan)
    _assert_matches(src, ref, fused, plan, mode == "generate")


def test_load_replaces_target_linears_and_heads(tiny_llama_dir, tiny_adapters, cpu_options):
    """After load: q/v are MultiLoraLinear (r_max 8, K+1 slots), the head is stacked, no PEFT."""
    fused = FusedEngine(cpu_options)
    fused.load(source(tiny_llama_dir, "classify"), tiny_adapters)
    modules = dict(fused.model.named_modules())
    wrapped = [n for n, m in modules.items() if isinstance(m, MultiLoraLinear)]
    assert len(wrapped) == 4 and all(n.endswith(("q_proj", "v_proj")) for n in wrapped)
    q = modules[wrapped[0]]
    assert q.lora_A.shape == (9, 8, 64) and q.ranks[:4] == [0, 2, 4, 8]
    assert isinstance(modules["score"], MultiHeadLinear)
    assert modules["score"].weight_stack.shape == (9, 2, 64)
    assert not any(isinstance(m, LoraLayer) for m in modules.values())


def test_unknown_adapter_in_a_row_is_an_error(tiny_llama_dir, tiny_adapters, cpu_options):
    fused = FusedEngine(cpu_options)
    fused.load(source(tiny_llama_dir, "classify"), tiny_adapters[:2])
    batch = varied_batch(source(tiny_llama_dir, "classify"), 2)
    with pytest.raises(ServingError, match="no adapter 'nope'"):
        fused.forward(batch, ["nope", None])


def _linear_case(ranks: list[int]) -> tuple[nn.Linear, torch.Tensor, torch.Tensor]:
    """A base Linear(6 -> 5) and zero-padded stacks for adapters of the given ranks."""
    torch.manual_seed(0)
    base = nn.Linear(6, 5)
    r_max = max(ranks)
    a = torch.zeros(len(ranks) + 1, r_max, 6)
    b = torch.zeros(len(ranks) + 1, 5, r_max)
    for slot, r in enumerate(ranks, start=1):
        a[slot, :r], b[slot, :, :r] = torch.randn(r, 6), torch.randn(5, r)
    return base, a, b


def test_multilora_linear_matches_the_per_row_formula():
    """y_i = W x_i + b + B_k A_k x_i for row i with slot k; slot 0 adds nothing."""
    base, a, b = _linear_case([1, 3])
    routing = RowRouting()
    layer = MultiLoraLinear(base, a, b, routing)
    x = torch.randn(4, 7, 6)  # (B, T, d_in)
    index = torch.tensor([2, 0, 1, 2])
    routing.set(index)
    got = layer(x)
    for i, k in enumerate(index.tolist()):
        want = base(x[i]) + x[i] @ a[k].T @ b[k].T
        torch.testing.assert_close(got[i], want)
    routing.set(torch.tensor([0, 0, 0, 0]))
    torch.testing.assert_close(layer(x), base(x))  # cache refreshed when the index changes
    routing.set(torch.tensor([1, 1, 1, 1]))
    torch.testing.assert_close(layer(x), base(x) + x @ a[1, :1].T @ b[1, :, :1].T)
    assert layer.ranks == [0, 1, 3]


def test_multilora_linear_rejects_a_stale_index():
    base, a, b = _linear_case([2])
    routing = RowRouting()
    layer = MultiLoraLinear(base, a, b, routing)
    routing.set(torch.tensor([1, 0, 1]))
    with pytest.raises(RuntimeError, match="3 rows, batch has 2"):
        layer(torch.randn(2, 4, 6))


def test_multihead_linear_gathers_each_rows_head():
    routing = RowRouting()
    weight, bias = torch.randn(3, 2, 6), torch.randn(3, 2)
    head = MultiHeadLinear(weight, bias, routing)
    x = torch.randn(3, 5, 6)
    routing.set(torch.tensor([2, 0, 1]))
    got = head(x)
    for i, k in enumerate([2, 0, 1]):
        torch.testing.assert_close(got[i], x[i] @ weight[k].T + bias[k])
    pooled = head(x[:, 0])  # (B, in) inputs, as BERT-style classifiers pass
    torch.testing.assert_close(pooled, got[:, 0])
