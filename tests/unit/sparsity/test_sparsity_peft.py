"""ΔW from PEFT adapter state dicts equals merged-minus-base weights of a real PEFT merge."""

from __future__ import annotations

import copy

import pytest
import torch
from peft import AdaLoraConfig, LoraConfig, get_peft_model, get_peft_model_state_dict
from transformers import LlamaConfig, LlamaForSequenceClassification

from loralens.sparsity import (
    SparsityInputError,
    adalora_deltas_from_state_dict,
    intruder_dimensions_by_layer,
    lora_deltas_from_state_dict,
)

# PEFT warns about embedding saving and (for pruned AdaLoRA) zero-rank tensors: expected here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")

ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
ADAPTER_PARTS = ("lora_A", "lora_B", "lora_E", "lora_embedding_A", "lora_embedding_B")


@pytest.fixture(scope="module")
def base_model() -> LlamaForSequenceClassification:
    torch.manual_seed(0)
    config = LlamaConfig(
        num_hidden_layers=2,
        hidden_size=64,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=128,
        pad_token_id=0,
    )
    return LlamaForSequenceClassification(config).eval()


def _peft_model(base, config, seed: int = 1):
    """A PEFT model on a copy of `base` with every adapter factor set to random values."""
    model = get_peft_model(copy.deepcopy(base), config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if any(f".{part}." in name for part in ADAPTER_PARTS):
                param.copy_(0.1 * torch.randn(param.shape, generator=gen))
    return model


def _merged_minus_base(peft_model, base) -> dict[str, torch.Tensor]:
    """W_merged − W_base for every parameter of the base model, float64."""
    merged = copy.deepcopy(peft_model).merge_and_unload().state_dict()
    return {k: merged[k].double() - v.double() for k, v in base.state_dict().items()}


def _assert_matches_merge(deltas, diffs) -> None:
    changed = {k.removesuffix(".weight") for k, d in diffs.items() if d.abs().max() > 0}
    assert set(deltas) == changed
    for module, delta in deltas.items():
        assert delta.dtype == torch.float64
        torch.testing.assert_close(delta, diffs[f"{module}.weight"], atol=1e-6, rtol=1e-5)


LORA_CASES = {
    "plain": dict(r=4, lora_alpha=8, target_modules=ALL_LINEAR),
    "patterns": dict(
        r=4,
        lora_alpha=8,
        target_modules=["q_proj", "v_proj", "down_proj", "embed_tokens"],
        rank_pattern={"v_proj": 2, "model.layers.1.mlp.down_proj": 8},
        alpha_pattern={"down_proj": 3, "layers.0.self_attn.q_proj": 16},
    ),
    "rslora": dict(r=8, lora_alpha=4, use_rslora=True, target_modules=["q_proj", "v_proj"]),
}


@pytest.mark.parametrize("case", LORA_CASES)
def test_lora_deltas_match_peft_merge(base_model, case: str) -> None:
    kwargs = LORA_CASES[case]
    model = _peft_model(base_model, LoraConfig(task_type="SEQ_CLS", **kwargs))
    deltas = lora_deltas_from_state_dict(
        get_peft_model_state_dict(model),
        alpha=kwargs["lora_alpha"],
        rank=kwargs["r"],
        rank_pattern=kwargs.get("rank_pattern"),
        alpha_pattern=kwargs.get("alpha_pattern"),
        use_rslora=kwargs.get("use_rslora", False),
    )
    assert "model.layers.0.self_attn.q_proj" in deltas
    _assert_matches_merge(deltas, _merged_minus_base(model, base_model))


def test_lora_rank_pattern_disagreeing_with_shapes_is_rejected(base_model) -> None:
    kwargs = LORA_CASES["patterns"]
    state = get_peft_model_state_dict(_peft_model(base_model, LoraConfig(**kwargs)))
    with pytest.raises(SparsityInputError, match=r"v_proj: lora_A has rank 2 but .* r=4"):
        lora_deltas_from_state_dict(state, alpha=8, rank=4)


def test_intruders_by_layer_runs_on_lora_deltas(base_model) -> None:
    model = _peft_model(base_model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj"]))
    deltas = lora_deltas_from_state_dict(get_peft_model_state_dict(model), alpha=8, rank=4)
    counts = intruder_dimensions_by_layer(base_model.state_dict(), deltas, k=5)
    assert set(counts) == set(deltas)
    assert all(0 <= c <= 5 for per_eps in counts.values() for c in per_eps.values())


def _adalora_config() -> AdaLoraConfig:
    """init_r=6 triplets per module, pruned to an average of 2 after one allocation step."""
    return AdaLoraConfig(
        task_type="SEQ_CLS",
        init_r=6,
        target_r=2,
        lora_alpha=5,
        target_modules=ALL_LINEAR,
        total_step=1,
        tinit=0,
        tfinal=0,
        deltaT=1,
    )


def test_adalora_deltas_match_peft_merge(base_model) -> None:
    model = _peft_model(base_model, _adalora_config())
    deltas = adalora_deltas_from_state_dict(get_peft_model_state_dict(model), alpha=5, init_r=6)
    _assert_matches_merge(deltas, _merged_minus_base(model, base_model))


def test_pruned_adalora_deltas_match_peft_merge(base_model) -> None:
    """After PEFT's rank allocator prunes triplets, the saved (truncated) state still matches."""
    model = _peft_model(base_model, _adalora_config())
    input_ids = torch.randint(1, 128, (4, 8), generator=torch.Generator().manual_seed(2))
    model(input_ids=input_ids, labels=torch.tensor([0, 1, 0, 1])).loss.backward()
    model.base_model.update_and_allocate(0)  # importance scores from one backward pass
    model.base_model.update_and_allocate(1)  # step 1 == total_step - tfinal: final mask
    diffs = _merged_minus_base(model, base_model)
    state = get_peft_model_state_dict(model)
    ranks = [v.shape[0] for k, v in state.items() if k.endswith(".lora_A")]
    assert min(ranks) < 6  # some triplets were pruned away
    deltas = adalora_deltas_from_state_dict(state, alpha=5, init_r=6)
    changed = {k.removesuffix(".weight") for k, d in diffs.items() if d.abs().max() > 0}
    assert changed <= set(deltas)  # a module pruned to rank 0 has ΔW = 0
    for module, delta in deltas.items():
        torch.testing.assert_close(delta, diffs[f"{module}.weight"], atol=1e-6, rtol=1e-5)


def _ab(r: int = 2, d: int = 8) -> dict[str, torch.Tensor]:
    return {"lora_A.weight": torch.randn(r, d), "lora_B.weight": torch.randn(d, r)}


def _state(module: str, parts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"base_model.model.{module}.{k}": v for k, v in parts.items()}


BAD_STATES = {  # (state dict, rank, expected message)
    "missing B": (_state("m.q", {"lora_A.weight": torch.randn(2, 8)}), 2, r"m\.q: incomplete"),
    "DoRA": (_state("m.q", {**_ab(), "lora_magnitude_vector": torch.ones(8)}), 2, "DoRA"),
    "AdaLoRA keys": (_state("m.q", {"lora_A": torch.randn(2, 8)}), 2, "adalora_deltas"),
    "raw state": (_state("m.q", {"lora_A.default.weight": torch.randn(2, 8)}), 2, "unrecognised"),
    "nothing": ({"base_model.model.score.weight": torch.randn(2, 8)}, 2, "no LoRA factors"),
    "rank > dims": (_state("m.q", _ab(r=9, d=8)), 9, r"m\.q: rank 9 exceeds min"),
    "NaN": (_state("m.q", {**_ab(), "lora_B.weight": torch.full((8, 2), torch.nan)}), 2, "NaN"),
    "3-D": (_state("m.q", {**_ab(), "lora_A.weight": torch.randn(2, 8, 1)}), 2, "2-D"),
}


@pytest.mark.parametrize("case", BAD_STATES)
def test_bad_lora_state_dicts_are_rejected(case: str) -> None:
    state, rank, message = BAD_STATES[case]
    with pytest.raises(SparsityInputError, match=message):
        lora_deltas_from_state_dict(state, alpha=4, rank=rank)


def test_lora_bias_and_modules_to_save_are_skipped() -> None:
    state = _state("m.q", {**_ab(), "lora_B.bias": torch.randn(8)})
    state["base_model.model.score.weight"] = torch.randn(2, 8)
    assert list(lora_deltas_from_state_dict(state, alpha=4, rank=2)) == ["m.q"]


def test_bad_adalora_state_dicts_are_rejected() -> None:
    parts = {"lora_A": torch.randn(3, 8), "lora_B": torch.randn(8, 3), "lora_E": torch.randn(3, 1)}
    with pytest.raises(SparsityInputError, match="above init_r=2"):
        adalora_deltas_from_state_dict(_state("m.q", parts), alpha=4, init_r=2)
    with pytest.raises(SparsityInputError, match="lora_deltas_from_state_dict"):
        adalora_deltas_from_state_dict(_state("m.q", _ab()), alpha=4, init_r=2)
    bad_e = parts | {"lora_E": torch.randn(2, 1)}
    with pytest.raises(SparsityInputError, match="inconsistent AdaLoRA shapes"):
        adalora_deltas_from_state_dict(_state("m.q", bad_e), alpha=4, init_r=6)
