"""Analytic step FLOPs: a hand count, the 6N rule, torch's FlopCounterMode on a tiny Llama."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, TaskType, get_peft_model
from torch.utils.flop_counter import FlopCounterMode
from transformers import LlamaConfig, LlamaForSequenceClassification

from loralens.bench.flops import DecoderShape, step_flops

# PEFT reads transformers' deprecated `is_gradient_checkpointing` (as in training/setup.py)
pytestmark = pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing")

# One layer, d=4, f=8, 2 query heads and 1 key/value head of width 2, 3 labels; batch 2 × 3.
HAND = DecoderShape(
    layers=1, hidden=4, intermediate=8, heads=2, kv_heads=1, head_dim=2, num_labels=3
)
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
TOLERANCE = 1e-3  # relative; the two counts agree exactly today


def test_full_fine_tuning_by_hand() -> None:
    # N = 6 positions; weights in matmuls: q 16 + k 8 + v 8 + o 16 + 3·32 (MLP) + head 12 = 156
    # forward: 2·6·156 = 1872, attention 4·B·T²·h·d_h = 4·2·9·2·2 = 288; backward twice that
    flops = step_flops(HAND, batch=2, length=3)
    assert (flops.forward, flops.backward, flops.attention) == (2160, 4320, 3 * 288)
    assert flops.total == 3 * flops.forward


def test_lora_by_hand() -> None:
    # adapters r=1 on q (4→4) and v (4→2): forward 2·6·(4+4) + 2·6·(4+2) = 168 more
    # backward: frozen q, k, v see an input without gradient (frozen embeddings): nothing;
    # o 2·6·16 + gate, up 2·2·6·32 + down 2·6·32 = 1344 (input gradients only);
    # adapters: dA + dB (168) + through B (2·6·4 + 2·6·2 = 72), not through A: 240;
    # attention: dP, dV, dQ but no dK = 3 · 144; head: weight and input gradient 2 · 144
    flops = step_flops(HAND, batch=2, length=3, lora_rank=1, lora_targets=("q_proj", "v_proj"))
    assert (flops.forward, flops.backward) == (2160 + 168, 1344 + 240 + 432 + 288)
    assert flops.attention == 288 + 432


def test_six_n_rule_without_attention() -> None:
    shape = DecoderShape(
        layers=30, hidden=576, intermediate=1536, heads=9, kv_heads=3, head_dim=64, num_labels=2
    )
    flops = step_flops(shape, batch=16, length=64)
    assert flops.total - flops.attention == 6 * 16 * 64 * shape.matmul_params()
    lora = step_flops(shape, batch=16, length=64, lora_rank=8, lora_targets=("q_proj", "v_proj"))
    assert lora.total / lora.forward == pytest.approx(2.0, abs=0.05)  # about 2 × forward, not 3 ×


def test_narayanan_et_al_formula_on_a_gpt_like_shape() -> None:
    # 72·B·s·l·d²·(1 + s/6d): h·d_h = d, no GQA, a 3·d·f = 8d² MLP; their count has no head
    d, batch, length = 48, 2, 8
    shape = DecoderShape(
        layers=3, hidden=d, intermediate=128, heads=4, kv_heads=4, head_dim=12, num_labels=2
    )
    head = 6 * batch * length * d * 2
    expected = 72 * batch * length * 3 * d**2 * (1 + length / (6 * d))
    assert step_flops(shape, batch, length).total - head == pytest.approx(expected)


def test_unknown_target_is_refused() -> None:
    with pytest.raises(ValueError, match="qkv"):
        step_flops(HAND, 1, 2, lora_rank=1, lora_targets=("qkv",))


def _tiny_llama() -> LlamaForSequenceClassification:
    torch.manual_seed(0)
    config = LlamaConfig(
        num_hidden_layers=2,
        hidden_size=64,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=100,
        num_labels=2,
        pad_token_id=0,
        attn_implementation="eager",  # FlopCounterMode does not see PyTorch's CPU SDPA kernel
    )
    return LlamaForSequenceClassification(config)


@pytest.mark.parametrize(
    "targets",
    [None, ("q_proj", "v_proj"), ("k_proj",), ("o_proj",), ("down_proj",), ALL_LINEAR],
    ids=["full", "qv", "k", "o", "down", "all-linear"],
)
def test_agrees_with_flop_counter_on_a_tiny_llama(targets: tuple[str, ...] | None) -> None:
    model = _tiny_llama()
    shape = DecoderShape.from_config(model.config)
    if targets is not None:
        lora = LoraConfig(
            task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, target_modules=list(targets)
        )
        model = get_peft_model(model, lora)
    ids = torch.randint(1, 100, (3, 10))  # (B, T)
    with FlopCounterMode(display=False) as counter:
        model(input_ids=ids, labels=torch.tensor([0, 1, 0])).loss.backward()
    rank = None if targets is None else 8
    expected = step_flops(shape, 3, 10, lora_rank=rank, lora_targets=targets or ())
    assert counter.get_total_flops() == pytest.approx(expected.total, rel=TOLERANCE)
