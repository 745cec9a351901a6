"""QLoRA: an NF4 base with fp32 LoRA and head on top, or a clear error naming bitsandbytes."""

import sys

import pytest
import torch

from loralens.config import load_config
from loralens.errors import LoralensError
from loralens.training.quantized import check_qlora_support
from loralens.training.setup import build_model, trainable_parameters


def test_missing_bitsandbytes_names_the_requirement(monkeypatch, tiny_llama_dir) -> None:
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # what `import` sees when not installed
    cfg = load_config(None, [f"model.name={tiny_llama_dir}", "method=qlora"])
    with pytest.raises(LoralensError) as info:
        build_model(cfg, 2)
    assert (
        "model.quantization nf4) needs bitsandbytes==0.50.2 (pip install 'loralens[qlora]')"
        in str(info.value)
    )


def test_an_unsupported_device_is_refused(monkeypatch) -> None:
    bnb = pytest.importorskip("bitsandbytes")
    monkeypatch.setattr(bnb, "supported_torch_devices", {"cuda"})
    with pytest.raises(LoralensError, match=r"does not support device 'cpu'.*supports: cuda"):
        check_qlora_support("cpu")


def test_a_failing_native_backend_is_refused(monkeypatch) -> None:
    bnb = pytest.importorskip("bitsandbytes")

    def broken(*args, **kwargs):
        raise RuntimeError("no kernel for this CPU")

    monkeypatch.setattr(bnb.functional, "quantize_4bit", broken)
    with pytest.raises(LoralensError, match=r"cannot quantize to 4-bit NF4 on 'cpu'.*no kernel"):
        check_qlora_support("cpu")


@pytest.fixture(scope="module")
def qlora_model(tiny_llama_dir):
    pytest.importorskip("bitsandbytes")
    cfg = load_config(None, [f"model.name={tiny_llama_dir}", "method=qlora", "lora.rank=4"])
    return build_model(cfg, 2)[0]


def test_base_is_nf4_and_only_adapters_and_head_train(qlora_model) -> None:
    import bitsandbytes as bnb

    q_proj = qlora_model.base_model.model.model.layers[0].self_attn.q_proj
    assert isinstance(q_proj.base_layer, bnb.nn.Linear4bit)
    assert q_proj.base_layer.weight.quant_state.quant_type == "nf4"
    assert isinstance(qlora_model.base_model.model.model.layers[0].mlp.up_proj, bnb.nn.Linear4bit)
    trainable = {n: p for n, p in qlora_model.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_" in n or ".score." in n for n in trainable)
    assert all(p.dtype == torch.float32 for p in trainable.values())


def test_parameter_count_unpacks_4bit_weights(qlora_model, tiny_llama_dir) -> None:
    cfg = load_config(None, [f"model.name={tiny_llama_dir}", "lora.rank=4"])
    fp32_lora = build_model(cfg, 2)[0]
    assert trainable_parameters(qlora_model) == trainable_parameters(fp32_lora)


def test_a_training_step_updates_the_adapter(qlora_model, tiny_llama_dir) -> None:
    from loralens.models.load import load_tokenizer

    tok = load_tokenizer(str(tiny_llama_dir))
    batch = tok(["a good film", "a bad one"], return_tensors="pt", padding=True)
    params = [p for p in qlora_model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    opt = torch.optim.AdamW(params, lr=1e-2)
    qlora_model.train()
    loss = qlora_model(**batch, labels=torch.tensor([1, 0])).loss
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    assert all(not torch.equal(a, b) for a, b in zip(before, params, strict=True))


def test_evaluation_leaves_gradients_flowing_through_4bit_layers(qlora_model, tiny_llama_dir):
    from loralens.models.load import load_tokenizer

    tok = load_tokenizer(str(tiny_llama_dir))
    batch = tok(["a good film", "a bad one"], return_tensors="pt", padding=True)
    qlora_model.eval()
    with torch.no_grad():
        before = qlora_model(**batch).logits  # bitsandbytes may repack weights for CPU inference
    qlora_model.train()
    qlora_model.zero_grad()
    qlora_model(**batch, labels=torch.tensor([1, 0])).loss.backward()
    lora_a = [p for n, p in qlora_model.named_parameters() if ".lora_A." in n]
    assert lora_a and all(p.grad is not None and p.grad.abs().sum() > 0 for p in lora_a)
    qlora_model.eval()
    with torch.no_grad():
        torch.testing.assert_close(qlora_model(**batch).logits, before)


@pytest.mark.parametrize(
    ("method", "adapter_layer"),
    [("adalora", "SVDLinear4bit"), ("dora", "Linear4bit"), ("lora", "Linear4bit")],
)
def test_any_adapter_method_composes_with_a_4bit_base(tiny_llama_dir, method, adapter_layer):
    pytest.importorskip("bitsandbytes")
    import bitsandbytes as bnb

    overrides = [f"model.name={tiny_llama_dir}", f"method={method}", "model.quantization=nf4"]
    cfg = load_config(None, [*overrides, "lora.rank=4", "adalora.init_r=6", "adalora.target_r=4"])
    assert cfg.quantized_base
    model = build_model(cfg, 2, total_steps=10)[0]
    q_proj = model.base_model.model.model.layers[0].self_attn.q_proj
    assert type(q_proj).__name__ == adapter_layer  # PEFT's 4-bit layer of this method
    assert isinstance(q_proj.base_layer, bnb.nn.Linear4bit)
    assert q_proj.base_layer.weight.quant_state.quant_type == "nf4"
    if method == "dora":
        assert q_proj.lora_magnitude_vector  # DoRA's learned magnitudes exist on the 4-bit base
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(".lora_" in n or ".score." in n for n in trainable)


def test_full_fine_tuning_refuses_a_4bit_base(tiny_llama_dir) -> None:
    with pytest.raises(LoralensError, match=r"method 'full' cannot train it; use an adapter"):
        load_config(None, [f"model.name={tiny_llama_dir}", "method=full", "model.quantization=nf4"])


def test_an_fp32_base_is_the_default_and_qlora_implies_nf4(tiny_llama_dir) -> None:
    assert not load_config(None, ["method=lora"]).quantized_base
    assert load_config(None, ["method=qlora"]).quantized_base
