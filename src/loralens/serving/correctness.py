"""The correctness gate: every engine must reproduce the reference before it is timed.

The reference is PEFT with one adapter active at a time (the `unmerged` engine, only ever given
single-adapter batches). For each adapter, the base (no adapter) and one mixed batch holding all
of them in random order, an engine's logits must match within atol + rtol·max|ref| (real
tokens only) and, when generating, its greedy tokens must be equal.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from loralens.serving.base import Batch
from loralens.serving.decode import group_rows
from loralens.serving.interface import BASE_ROW, Engine, Sampling
from loralens.serving.workloads import Workload

MIXED = "mixed"


def mixed_plan(rows: int, groups: Sequence[str | None], seed: int) -> list[str | None]:
    """Every group (adapter or None) on rows // len(groups) rows, in a seeded random order."""
    plan = [groups[i % len(groups)] for i in range(rows)]
    random.Random(seed).shuffle(plan)
    return plan


def _diff(got: Tensor, ref: Tensor, mask: Tensor, atol: float, rtol: float) -> tuple[float, bool]:
    """Largest |got - ref| over real tokens, and whether it is within atol + rtol·max|ref|.

    The relative part scales with the largest reference logit: merging W + s·BA rounds
    differently in fp32, which over 30 layers moves LM logits of size ~30 by a few 1e-4, while
    a wrong adapter or row moves them by 1e-1 and more.
    """
    if got.shape != ref.shape:
        return float("inf"), False
    if got.dim() == 3:  # LM logits (B, T, V): padded positions are not compared
        keep = mask.bool()
        got, ref = got[keep], ref[keep]  # (n_real, V)
    if not got.numel():
        return 0.0, True
    err = float((got.float() - ref.float()).abs().max())
    return err, err <= atol + rtol * float(ref.float().abs().max())


class Reference:
    """Reference outputs per row group of the check batch, computed once, shared by all engines."""

    def __init__(
        self, engine: Engine, batch: Batch, plan: list[str | None], workload: Workload, n: int
    ) -> None:
        self.batch, self.plan, self.n = batch, plan, n
        self.groups = group_rows(plan)
        self.logits = {
            g: engine.forward(batch.rows(i), [g] * len(i)) for g, i in self.groups.items()
        }
        self.tokens: dict[str | None, Tensor] = {}
        if workload == "generate":
            for g, idx in self.groups.items():
                gen = engine.generate(batch.rows(idx), [g] * len(idx), n, Sampling())
                self.tokens[g] = gen.tokens

    def mixed_logits(self) -> Tensor:
        """Reference logits of the whole mixed batch, assembled from the groups."""
        first = next(iter(self.logits.values()))
        out = first.new_empty((self.batch.size, *first.shape[1:]))
        for g, idx in self.groups.items():
            out[idx] = self.logits[g]
        return out

    def mixed_tokens(self) -> Tensor:
        """Reference greedy tokens of the whole mixed batch. (B, n)"""
        out = torch.empty((self.batch.size, self.n), dtype=torch.long)
        for g, idx in self.groups.items():
            out[idx] = self.tokens[g].cpu()
        return out


def check_engine(
    name: str, engine: Engine, ref: Reference, workload: Workload, atol: float, rtol: float
) -> list[dict[str, Any]]:
    """One entry per adapter, the base and the mixed batch; an exception fails the entry."""
    cases: list[tuple[str, Batch, list[str | None], Tensor | None, Tensor | None]] = []
    for g, idx in ref.groups.items():
        tokens = ref.tokens.get(g)
        cases.append((g or BASE_ROW, ref.batch.rows(idx), [g] * len(idx), ref.logits[g], tokens))
    mixed_tokens = ref.mixed_tokens() if workload == "generate" else None
    cases.append((MIXED, ref.batch, ref.plan, ref.mixed_logits(), mixed_tokens))
    entries = []
    for label, batch, plan, ref_logits, ref_tokens in cases:
        entry: dict[str, Any] = {"engine": name, "workload": workload, "adapter": label}
        try:
            entry |= _compare(engine, batch, plan, ref_logits, ref_tokens, ref.n, atol, rtol)
        except Exception as exc:  # a crashing engine fails the gate, it does not stop the run
            entry |= {"max_abs_logit_diff": None, "greedy_equal": None, "passed": False}
            entry["error"] = f"{type(exc).__name__}: {exc}"
        entries.append(entry)
    return entries


def _compare(
    engine: Engine,
    batch: Batch,
    plan: list[str | None],
    ref_logits: Tensor,
    ref_tokens: Tensor | None,
    n: int,
    atol: float,
    rtol: float,
) -> dict[str, Any]:
    """Logit difference and greedy-token equality of one engine on one case."""
    diff, close = None, True
    if engine.capabilities.supports_forward:
        got = engine.forward(batch, plan)
        diff, close = _diff(got.cpu(), ref_logits.cpu(), batch.attention_mask.cpu(), atol, rtol)
    equal, agree = None, {}
    if ref_tokens is not None:
        tokens = engine.generate(batch, plan, n, Sampling()).tokens
        equal = bool(torch.equal(tokens.cpu(), ref_tokens.cpu()))
        agree = agreement(tokens.tolist(), ref_tokens.tolist())
    tokens_ok = equal is not False or not engine.capabilities.exact_greedy
    return {
        "max_abs_logit_diff": diff,
        "greedy_equal": equal,
        "passed": close and tokens_ok,
        "error": None,
    } | agree


def agreement(got: Sequence[Sequence[int]], ref: Sequence[Sequence[int]]) -> dict[str, Any]:
    """Greedy-token agreement: fraction of equal positions, rows equal, first divergence."""
    positions = equal = rows_equal = 0
    first: int | None = None
    for g, r in zip(got, ref, strict=True):
        n = min(len(g), len(r))
        same = [a == b for a, b in zip(g[:n], r[:n], strict=True)]
        positions += max(len(g), len(r))
        equal += sum(same)
        rows_equal += int(all(same) and len(g) == len(r))
        diverge = next((i for i, s in enumerate(same) if not s), None)
        if diverge is None and len(g) != len(r):
            diverge = n
        if diverge is not None:
            first = diverge if first is None else min(first, diverge)
    return {
        "token_agreement": equal / positions if positions else 1.0,
        "rows_equal": rows_equal,
        "rows": len(ref),
        "first_divergence": first,  # earliest differing token index over rows (None: identical)
    }


def failed_engines(entries: list[dict[str, Any]]) -> dict[str, str]:
    """Engine -> why it failed (largest difference, unequal tokens or the error)."""
    out: dict[str, str] = {}
    for e in entries:
        if e["passed"] or e["engine"] in out:
            continue
        worst = max(
            (x["max_abs_logit_diff"] or 0.0 for x in entries if x["engine"] == e["engine"]),
            default=0.0,
        )
        reason = e.get("error") or f"max |Δlogit| {worst:.3g}"
        if e.get("greedy_equal") is False:
            reason += ", greedy tokens differ"
        out[e["engine"]] = f"{reason} (first failing case: {e['adapter']}, {e['workload']})"
    return out
