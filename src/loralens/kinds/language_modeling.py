"""The language-modelling kind: causal-LM fine-tuning on fixed-length blocks of the training
documents; perplexity on test over strided windows (stride = half the block)."""

from __future__ import annotations

import numpy as np
import torch
from transformers import default_data_collator

from loralens.data import TaskData, TaskSpec
from loralens.evaluation.perplexity import (
    blocks,
    check_block,
    nll_metrics,
    token_stream,
    window_nll,
    windows,
)
from loralens.kinds import Evaluation, TaskKind

STRIDE_FRACTION = 0.5  # each scored token has at least half a block of context


def stride_of(block: int) -> int:
    """The scoring stride for a block size."""
    return max(1, int(block * STRIDE_FRACTION))


def _load(model_name: str, num_labels: int):
    from loralens.models.load import load_causal_lm

    return load_causal_lm(model_name, dtype=torch.float32)


def _check_model(model, block: int) -> None:
    """The block must fit the model's context."""
    check_block(block, getattr(model.config, "max_position_embeddings", None))


def _encode(data: TaskData, tok, block: int, budgets: dict, seed: int, splits) -> dict:
    """Train and val as blocks of `block` tokens (at most max_train / max_val, a seeded subset);
    test as the token stream and its scoring windows (at most max_test windows)."""

    def stream(split: str) -> list[int]:
        return token_stream(tok, [e.texts[0] for e in getattr(data.splits, split)])

    rows = {}
    for i, split in enumerate(("train", "val")):
        if split in splits:
            rows[split] = blocks(stream(split), block, budgets.get(f"max_{split}"), seed + i)
    if "test" in splits:
        ids = stream("test")
        wins = windows(len(ids), block, stride_of(block), budgets.get("max_test"))
        rows["test"] = [{"ids": ids, "windows": wins}]
    return rows


def _trainer_metrics(spec: TaskSpec):
    def preprocess(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # (B, T-1) per-token cross-entropy: the (B, T, V) logits are never gathered on val
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        return -logp.gather(-1, labels[:, 1:].unsqueeze(-1)).squeeze(-1)

    def compute_metrics(pred) -> dict[str, float]:
        nll = np.asarray(pred.predictions, dtype=np.float64)  # (N, T-1)
        keep = np.asarray(pred.label_ids)[:, 1:] != -100
        return nll_metrics(np.array([[nll[keep].sum(), keep.sum()]]))

    return compute_metrics, preprocess


def _evaluate(data: TaskData, model, tok, rows: list[dict], batch: int) -> Evaluation:
    """Perplexity of the test stream over its windows; one record per window."""
    (test,) = rows
    wins = test["windows"]
    per_window = window_nll(model, test["ids"], wins, batch)  # (W, 2)
    records = [
        {"index": i, "begin": w.begin, "end": w.end, "scored": int(c), "nll_sum": float(t)}
        for i, (w, (t, c)) in enumerate(zip(wins, per_window, strict=True))
    ]
    block = max((w.end - w.begin for w in wins), default=0)
    detail = (
        f"{int(per_window[:, 1].sum())} test tokens in {len(wins)} windows of {block} tokens, "
        f"stride {stride_of(block)}"
    )
    return Evaluation(nll_metrics(per_window), records, detail)


LANGUAGE_MODELING = TaskKind(
    name="language_modeling",
    description="next-token prediction (mean cross-entropy in nats, perplexity)",
    load_model=_load,
    encode=_encode,
    collator=lambda tok: default_data_collator,
    trainer_metrics=_trainer_metrics,
    evaluate=_evaluate,
    check_model=_check_model,
    servable=False,
)
