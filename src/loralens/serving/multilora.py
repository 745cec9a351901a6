"""Drop-in modules for the fused engine: a Linear plus per-row LoRA deltas, and per-row heads.

Every wrapper of one model shares a `RowRouting` (the row -> adapter-slot index of the current
call). Gathered per-row weights are cached until the index changes, so decode steps, which keep
the index, gather once per `generate` call instead of once per step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class RowRouting:
    """The adapter slot of each batch row (0 = base), set by the engine before each call."""

    def __init__(self) -> None:
        self.index: Tensor | None = None  # (B,) long
        self.uniform: int | None = None  # the slot if every row has the same one
        self.present: list[int] = []  # distinct slots in the batch
        self.version = 0

    def set(self, index: Tensor) -> None:
        """Route the next calls' rows to `index` (B,) adapter slots."""
        present = torch.unique(index).tolist()
        self.index = index
        self.present = present
        self.uniform = present[0] if len(present) == 1 else None
        self.version += 1

    def check(self, rows: int) -> Tensor:
        """The index, after checking it was set for a batch of `rows` rows."""
        if self.index is None or self.index.shape[0] != rows:
            got = None if self.index is None else self.index.shape[0]
            raise RuntimeError(f"fused engine: row index set for {got} rows, batch has {rows}")
        return self.index


class MultiLoraLinear(nn.Module):
    """y = base(x) + per-row (x Aᵀ) Bᵀ, with A, B gathered from (K+1)-slot stacks."""

    def __init__(
        self, base: nn.Linear, lora_a: Tensor, lora_b: Tensor, routing: RowRouting
    ) -> None:
        super().__init__()
        self.base = base
        self.register_buffer("lora_A", lora_a)  # (K+1, r_max, d_in)
        self.register_buffer("lora_B", lora_b)  # (K+1, d_out, r_max), scaling folded in
        # effective rank per slot: the padded tail of a lower-rank adapter is all zeros
        nonzero = lora_a.abs().amax(dim=2) > 0  # (K+1, r_max)
        self.ranks = [int(row.nonzero().max()) + 1 if row.any() else 0 for row in nonzero]
        self.routing = routing
        self._version = -1
        self._weights: tuple[Tensor, Tensor] | None = None

    def extra_repr(self) -> str:
        """Stack sizes, shown when the model is printed."""
        k, r, d_in = self.lora_A.shape
        return f"slots={k}, r_max={r}, d_in={d_in}, d_out={self.lora_B.shape[1]}"

    def _gather(self) -> tuple[Tensor, Tensor] | None:
        """This call's LoRA weights: 2-D if every row shares a slot, per-row otherwise."""
        route = self.routing
        if route.uniform is not None:
            rank = self.ranks[route.uniform]
            if rank == 0:
                return None
            return self.lora_A[route.uniform, :rank], self.lora_B[route.uniform, :, :rank]
        rank = max(self.ranks[s] for s in route.present)
        if rank == 0:
            return None
        idx = route.index
        a = self.lora_A[:, :rank][idx].transpose(1, 2).contiguous()  # (B, d_in, r)
        b = self.lora_B[:, :, :rank][idx].transpose(1, 2).contiguous()  # (B, r, d_out)
        return a, b

    def forward(self, x: Tensor) -> Tensor:
        """x (B, T, d_in) -> (B, T, d_out)."""
        y = self.base(x)  # (B, T, d_out)
        if self._version != self.routing.version:
            self._weights, self._version = self._gather(), self.routing.version
        if self._weights is None:
            return y
        a, b = self._weights
        if a.dim() == 2:  # one adapter for the whole batch: plain matmuls, added in place
            h = F.linear(x, a)  # (B, T, r)
            y.view(-1, y.shape[-1]).addmm_(h.view(-1, h.shape[-1]), b.t())
            return y
        self.routing.check(x.shape[0])
        x3, y3 = (x[:, None], y[:, None]) if x.dim() == 2 else (x, y)
        h = torch.bmm(x3, a)  # (B, T, r)
        out = torch.baddbmm(y3, h, b)  # (B, T, d_out)
        return out[:, 0] if x.dim() == 2 else out


class MultiHeadLinear(nn.Module):
    """A Linear head chosen per row from (K+1) stacked heads (slot 0 = the base head)."""

    def __init__(self, weight: Tensor, bias: Tensor | None, routing: RowRouting) -> None:
        super().__init__()
        self.register_buffer("weight_stack", weight)  # (K+1, out, in)
        self.register_buffer("bias_stack", bias)  # (K+1, out) or None
        self.routing = routing
        self._version = -1
        self._weights: tuple[Tensor, Tensor | None] | None = None

    def _gather(self) -> tuple[Tensor, Tensor | None]:
        route = self.routing
        bias = self.bias_stack
        if route.uniform is not None:
            k = route.uniform
            return self.weight_stack[k], None if bias is None else bias[k]
        idx = route.index
        w = self.weight_stack[idx].transpose(1, 2).contiguous()  # (B, in, out)
        return w, None if bias is None else bias[idx][:, None]  # (B, 1, out)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, T, in) or (B, in) -> (B, T, out) or (B, out)."""
        if self._version != self.routing.version:
            self._weights, self._version = self._gather(), self.routing.version
        assert self._weights is not None
        w, bias = self._weights
        if w.dim() == 2:
            return F.linear(x, w, bias)
        self.routing.check(x.shape[0])
        x3 = x[:, None] if x.dim() == 2 else x  # (B, T, in)
        out = torch.bmm(x3, w)  # (B, T, out)
        if bias is not None:
            out = out + bias
        return out[:, 0] if x.dim() == 2 else out
