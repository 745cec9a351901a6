"""Analytic matmul FLOPs of one training step of a Llama-style decoder classifier, full or LoRA.

Conventions. A FLOP is one multiply or one add, so (m×k)·(k×n) costs 2mkn; only matrix products
are counted (norms, rotary, softmax, SiLU, dropout, the optimizer's element-wise update are a few
FLOPs per element and negligible here), the convention of Kaplan et al. 2020 and of
`torch.utils.flop_counter.FlopCounterMode`. N = B·T token positions (padding included: the
kernels compute on it). Per layer, with hidden d, intermediate f, h query heads and h_kv
key/value heads of width d_h:

    P_layer = d·h·d_h (q) + 2·d·h_kv·d_h (k, v) + h·d_h·d (o) + 3·d·f (gate, up, down)
    forward  = 2·N·(L·P_layer + d·C)           projections and the score head (d → C labels),
             + 4·B·T²·h·d_h·L                  attention scores QKᵀ and the weighted sum AV

The embedding lookup is no matmul, and a classifier has no d → vocab output layer. The score
head runs on every position (Hugging Face pools its logits afterwards). Attention is counted
over the full T×T square, not causal: dense kernels (eager, PyTorch's CPU SDPA with a padding
mask) compute the whole square and mask it; a causal-aware kernel does about half.

Backward, full fine-tuning: every product A·W has two backward products of its size, the input
gradient and the weight gradient, and attention's two products each have two (dP, dV; dQ, dK):
backward = 2 × forward, a step = 3 × forward — the 6N-per-token rule (Kaplan et al. 2020,
"Scaling Laws for Neural Language Models", §2.1) with attention added as Narayanan et al. 2021
("Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM") do: their
72·B·s·l·h²·(1 + s/6h) (no recomputation, no output layer; their h is our d) is this count
without the head when h·d_h = d, h_kv = h and 3·d·f = 8d² (a GPT MLP's two d×4d products).

Backward, LoRA (frozen W, trainable A (r×d_in), B (d_out×r) beside chosen projections, the head
trainable): a frozen product needs only its input gradient (1× its forward), and only where its
input requires a gradient; the adapter adds 2·N·r·(d_in + d_out) forward and twice that backward
(weight gradients of A and B, input gradients through B and A). So a LoRA step is about 2 ×
forward, not 3 ×. With frozen embeddings the first layer's input needs no gradient, so autograd
skips its untargeted q/k/v input gradients and the attention gradients nobody needs (dK in layer
0 when k_proj is frozen); the count follows autograd's rule exactly, layer by layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ATTENTION = ("q_proj", "k_proj", "v_proj")
MLP_IN = ("gate_proj", "up_proj")


@dataclass(frozen=True)
class DecoderShape:
    """The sizes of a Llama-style decoder classifier that its matmul FLOPs depend on."""

    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    num_labels: int

    @classmethod
    def from_config(cls, config: Any) -> DecoderShape:
        """Read the sizes from a transformers LlamaConfig (or any config with the same fields)."""
        heads = config.num_attention_heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        return cls(
            layers=config.num_hidden_layers,
            hidden=config.hidden_size,
            intermediate=config.intermediate_size,
            heads=heads,
            kv_heads=getattr(config, "num_key_value_heads", None) or heads,
            head_dim=head_dim,
            num_labels=config.num_labels,
        )

    def projections(self) -> dict[str, tuple[int, int]]:
        """(in, out) features of each linear layer of one decoder layer."""
        d, f = self.hidden, self.intermediate
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        return {
            "q_proj": (d, q),
            "k_proj": (d, kv),
            "v_proj": (d, kv),
            "o_proj": (q, d),
            "gate_proj": (d, f),
            "up_proj": (d, f),
            "down_proj": (f, d),
        }

    def matmul_params(self) -> int:
        """Weights that take part in matmuls: the projections of all layers and the score head."""
        per_layer = sum(i * o for i, o in self.projections().values())
        return self.layers * per_layer + self.hidden * self.num_labels


@dataclass(frozen=True)
class StepFlops:
    """Matmul FLOPs of one training step (forward + backward), attention's share included."""

    forward: int
    backward: int
    attention: int  # the attention-score and -value products' FLOPs, forward + backward

    @property
    def total(self) -> int:
        """Forward plus backward FLOPs."""
        return self.forward + self.backward

    def as_dict(self) -> dict[str, int | float]:
        """JSON-able fields, with the backward/forward ratio."""
        return {
            "forward": self.forward,
            "backward": self.backward,
            "total": self.total,
            "attention": self.attention,
            "backward_over_forward": self.backward / self.forward,
        }


def step_flops(
    shape: DecoderShape,
    batch: int,
    length: int,
    *,
    lora_rank: int | None = None,
    lora_targets: tuple[str, ...] = (),
) -> StepFlops:
    """Matmul FLOPs of one step on (batch, length) inputs: full fine-tuning, or LoRA if a rank."""
    unknown = set(lora_targets) - set(shape.projections())
    if unknown:
        raise ValueError(f"LoRA targets {sorted(unknown)} not among {list(shape.projections())}")
    n = batch * length  # token positions
    full = lora_rank is None
    attn_fwd = 4 * batch * length**2 * shape.heads * shape.head_dim  # QKᵀ and AV, one layer
    unit = attn_fwd // 2  # one of the four T×T backward products
    fwd = bwd = attn = 0
    stream = full  # whether the residual stream requires a gradient (embeddings trainable?)
    for _ in range(shape.layers):
        grads = {}  # projection name -> whether its output requires a gradient
        for name, (d_in, d_out) in shape.projections().items():
            if name == "o_proj":  # input: the attention output
                input_grad = any(grads[p] for p in ATTENTION)
            elif name == "gate_proj":  # input: the stream after attention
                stream = stream or grads["o_proj"]
                input_grad = stream
            elif name == "down_proj":  # input: SiLU(gate) * up
                input_grad = grads["gate_proj"] or grads["up_proj"]
            elif name in ATTENTION:
                input_grad = stream
            lora = not full and name in lora_targets
            f, b = _linear(n, d_in, d_out, full, input_grad, lora_rank if lora else None)
            fwd, bwd = fwd + f, bwd + b
            grads[name] = full or input_grad or lora
        stream = stream or grads["down_proj"]
        q, k, v = (grads[p] for p in ATTENTION)
        fwd, attn = fwd + attn_fwd, attn + attn_fwd
        # backward: dP = dO·Vᵀ if Q or K need a gradient; dV = Pᵀ·dO; dQ = dS·K; dK = dSᵀ·Q
        attn_bwd = unit * ((q or k) + v + q + k)
        bwd, attn = bwd + attn_bwd, attn + attn_bwd
    head = 2 * n * shape.hidden * shape.num_labels  # trainable in both methods: weight gradient
    return StepFlops(fwd + head, bwd + head + (head if stream else 0), attn)


def _linear(
    n: int, d_in: int, d_out: int, full: bool, input_grad: bool, rank: int | None
) -> tuple[int, int]:
    """(forward, backward) FLOPs of one linear layer on n positions, with a LoRA branch if rank."""
    base = 2 * n * d_in * d_out
    fwd = base
    bwd = (base if full else 0) + (base if full or input_grad else 0)  # weight, input gradient
    if rank is not None:
        a, b = 2 * n * d_in * rank, 2 * n * rank * d_out  # x·Aᵀ, (x·Aᵀ)·Bᵀ
        fwd += a + b
        bwd += a + b + b + (a if input_grad else 0)  # dA, dB; through B; through A
    return fwd, bwd
