"""loralens' fused multi-LoRA engine in plain PyTorch (the Punica / S-LoRA idea).

The base Linear runs once for the whole batch; each row then adds its own low-rank delta through
batched matmuls over stacked adapter weights gathered by the row's adapter slot:

    y = x Wᵀ + (x A[idx]ᵀ) B[idx]ᵀ        A: (K+1, r_max, d_in), B: (K+1, d_out, r_max)

Slot 0 is all zeros (rows served by the base); the LoRA scaling is folded into B; mixed ranks are
zero-padded to r_max. Per-adapter classifier heads (PEFT `modules_to_save`) are stacked the same
way (slot 0 = the base head). The engine sets one row->slot index before each call; it stays
fixed across decode steps, so generation works with the ordinary HF KV cache.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
from peft import PeftModel
from peft.tuners.lora import LoraLayer
from peft.utils import ModulesToSaveWrapper
from torch import Tensor, nn

from loralens.serving.adapters import AdapterSpec
from loralens.serving.base import BaseSource, Batch, model_inputs
from loralens.serving.decode import decode, hf_step
from loralens.serving.errors import ServingError, UnsupportedAdapterError
from loralens.serving.interface import Capabilities, EngineOptions, Generation, Sampling
from loralens.serving.multilora import MultiHeadLinear, MultiLoraLinear, RowRouting
from loralens.serving.peft_io import attach_adapters

PEFT_PREFIX = "base_model.model."


class FusedEngine:
    """One base copy whose target Linears gather each row's LoRA delta from stacked weights."""

    name = "fused"

    def __init__(self, options: EngineOptions) -> None:
        self.capabilities = Capabilities(mixed_batches=True, max_rank=options.max_rank)
        self.routing = RowRouting()
        self.slots: dict[str | None, int] = {None: 0}
        self.model: nn.Module | None = None

    def load(self, base: BaseSource, adapters: Sequence[AdapterSpec]) -> None:
        """Load adapters with PEFT, stack their weights, then unload PEFT and install wrappers."""
        names = [a.name for a in adapters]
        peft = attach_adapters(base.load(), adapters, base.mode)
        loras, heads = _collect(peft, names)
        model = peft.unload()
        for path, per_adapter in loras.items():
            base_linear = model.get_submodule(path)
            a, b = _stack_lora(per_adapter, names, base_linear)
            model.set_submodule(path, MultiLoraLinear(base_linear, a, b, self.routing))
        for path, (original, per_adapter) in heads.items():
            w, bias = _stack_head(original, per_adapter, names)
            model.set_submodule(path, MultiHeadLinear(w, bias, self.routing))
        self.slots = {None: 0, **{n: i + 1 for i, n in enumerate(names)}}
        self.model = model.eval()

    def route(self, adapter_per_row: Sequence[str | None]) -> None:
        """Set the row -> adapter-slot index every wrapper reads in the next calls."""
        try:
            slots = [self.slots[a] for a in adapter_per_row]
        except KeyError as exc:
            raise ServingError(f"engine 'fused' has no adapter {exc.args[0]!r}") from None
        device = next(self.model.parameters()).device if self.model is not None else None
        self.routing.set(torch.tensor(slots, dtype=torch.long, device=device))

    @torch.inference_mode()
    def forward(self, batch: Batch, adapter_per_row: Sequence[str | None]) -> Tensor:
        """Logits for the whole batch in one pass."""
        assert self.model is not None, "load() first"
        self.route(adapter_per_row)
        return self.model(**model_inputs(batch)).logits

    @torch.inference_mode()
    def generate(
        self,
        batch: Batch,
        adapter_per_row: Sequence[str | None],
        max_new_tokens: int,
        sampling: Sampling,
    ) -> Generation:
        """The whole batch decoded together; the row index is set once for all steps."""
        assert self.model is not None, "load() first"
        start = time.perf_counter()
        self.route(adapter_per_row)
        rows = list(range(batch.size))
        tokens, first, last = decode(
            hf_step(self.model), batch, rows, max_new_tokens, sampling, start
        )
        return Generation(tokens, [first] * batch.size, [last] * batch.size)

    def close(self) -> None:
        """Drop the model."""
        self.model = None


LoraWeights = dict[str, tuple[Tensor, Tensor]]  # adapter -> (A (r, d_in), scaled B (d_out, r))
HeadWeights = tuple[nn.Linear, dict[str, nn.Linear]]  # (base head, adapter -> head)


def _collect(
    peft: PeftModel, names: list[str]
) -> tuple[dict[str, LoraWeights], dict[str, HeadWeights]]:
    """Every LoRA layer's per-adapter (A, s·B) and every saved head, by path in the base model."""
    loras: dict[str, LoraWeights] = {}
    heads: dict[str, HeadWeights] = {}
    for path, module in peft.named_modules():
        short = path.removeprefix(PEFT_PREFIX)
        if isinstance(module, LoraLayer):
            loras[short] = _lora_weights(short, module, names)
        elif isinstance(module, ModulesToSaveWrapper):
            original = module.original_module
            saved = {n: module.modules_to_save[n] for n in names if n in module.modules_to_save}
            if not isinstance(original, nn.Linear):
                raise UnsupportedAdapterError(
                    f"engine 'fused' stacks Linear heads only; {short} is {type(original).__name__}"
                )
            heads[short] = (original, saved)
    return loras, heads


def _lora_weights(path: str, layer: LoraLayer, names: list[str]) -> LoraWeights:
    """(A, scaling·B) per adapter of one PEFT LoRA layer, refusing variants it cannot fuse."""
    base = layer.get_base_layer()
    if not isinstance(base, nn.Linear) or getattr(layer, "fan_in_fan_out", False):
        raise UnsupportedAdapterError(
            f"engine 'fused' adapts nn.Linear layers only; {path} is {type(base).__name__}"
        )
    out: LoraWeights = {}
    for name in names:
        if name not in layer.lora_A:
            continue
        if layer.use_dora.get(name) or layer.lora_B[name].bias is not None:
            raise UnsupportedAdapterError(
                f"engine 'fused' does not support DoRA or LoRA bias (adapter '{name}', {path})"
            )
        a = layer.lora_A[name].weight.detach()  # (r, d_in)
        b = layer.lora_B[name].weight.detach() * layer.scaling[name]  # (d_out, r)
        out[name] = (a, b)
    return out


def _stack_lora(
    per_adapter: LoraWeights, names: list[str], base: nn.Linear
) -> tuple[Tensor, Tensor]:
    """A (K+1, r_max, d_in) and B (K+1, d_out, r_max), zero-padded, slot 0 and gaps zero."""
    r_max = max((a.shape[0] for a, _ in per_adapter.values()), default=1)
    w = base.weight
    a_stack = w.new_zeros((len(names) + 1, r_max, base.in_features))  # (K+1, r, d_in)
    b_stack = w.new_zeros((len(names) + 1, base.out_features, r_max))  # (K+1, d_out, r)
    for slot, name in enumerate(names, start=1):
        if name in per_adapter:
            a, b = per_adapter[name]
            a_stack[slot, : a.shape[0]] = a
            b_stack[slot, :, : b.shape[1]] = b
    return a_stack, b_stack


def _stack_head(
    original: nn.Linear, per_adapter: dict[str, nn.Linear], names: list[str]
) -> tuple[Tensor, Tensor | None]:
    """Head weights (K+1, out, in) and biases (K+1, out) or None; slot 0 = the base head."""
    heads = [original] + [per_adapter.get(n, original) for n in names]
    weight = torch.stack([h.weight.detach() for h in heads])  # (K+1, out, in)
    if original.bias is None:
        return weight, None
    return weight, torch.stack([h.bias.detach() for h in heads])  # (K+1, out)
