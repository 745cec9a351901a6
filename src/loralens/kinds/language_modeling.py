"""The language-modelling kind: causal-LM fine-tuning on fixed-length blocks of the training
documents; perplexity on test over strided windows (stride = half the block) within each test
document, at most `max_test` of them sampled evenly across the whole test set (seeded).

The document is the unit of the test set: one record per scored document with its summed
cross-entropy and token count. The test NLL (nats per token) is the token-weighted mean; each
record's `nll_score` is its document's summed NLL over the mean tokens per scored document, so
the mean of the records' scores is the test NLL exactly (a document weighs by its length, as in
the metric) and the verdict can cross documents with runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from transformers import default_data_collator

from loralens.data import TaskData, TaskSpec
from loralens.evaluation.perplexity import (
    ScoringPlan,
    blocks,
    check_block,
    document_ids,
    nll_metrics,
    per_document,
    scoring_plan,
    token_stream,
    window_nll,
)
from loralens.kinds import Evaluation, TaskKind

STRIDE_FRACTION = 0.5  # each scored token has at least half a block of context
TEST_SEED_OFFSET = 4  # the test windows' sample is drawn with split_seed + 4 (as a test subset)
# What a run's test evaluation computes: 2 = windows within documents, sampled across the whole
# test set, one record per document (1 read the first max_test windows of one token stream).
VERSION = 2


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
    test as the scoring plan of its documents (at most max_test windows, sampled evenly)."""

    def stream(split: str) -> list[int]:
        return token_stream(tok, [e.texts[0] for e in getattr(data.splits, split)])

    rows = {}
    for i, split in enumerate(("train", "val")):
        if split in splits:
            rows[split] = blocks(stream(split), block, budgets.get(f"max_{split}"), seed + i)
    if "test" in splits:
        rows["test"] = [test_plan(data, tok, block, budgets.get("max_test"), seed)]
    return rows


def test_plan(data: TaskData, tok, block: int, limit: int | None, seed: int) -> ScoringPlan:
    """The test documents' windows, at most `limit` sampled with split_seed + 4."""
    docs = document_ids(tok, [e.texts[0] for e in data.splits.test])
    return scoring_plan(docs, block, stride_of(block), limit, seed + TEST_SEED_OFFSET)


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


def document_records(plan: ScoringPlan, per_window: np.ndarray) -> list[dict]:
    """One record per scored document: its id (index in the test split), windows, tokens,
    summed NLL and `nll_score` (summed NLL over the mean tokens per scored document)."""
    sums = per_document(per_window, plan.documents)
    mean_tokens = sum(c for _, c in sums.values()) / len(sums)
    windows_of = {d: plan.documents.count(d) for d in sums}
    return [
        {
            "index": i,
            "id": d,
            "windows": windows_of[d],
            "tokens": c,
            "nll_sum": t,
            "nll_score": t / mean_tokens,
        }
        for i, (d, (t, c)) in enumerate(sorted(sums.items()))
    ]


def plan_summary(plan: ScoringPlan) -> dict[str, int]:
    """What a scoring plan reads of the test set: documents and windows, scored and in all."""
    return {
        "documents": plan.n_documents,
        "documents_scored": len(plan.scored_documents()),
        "windows": plan.n_windows,
        "windows_scored": len(plan.windows),
    }


def _evaluate(data: TaskData, model, tok, rows: list, batch: int) -> Evaluation:
    """Perplexity of the sampled test windows; one record per scored document."""
    (plan,) = rows
    per_window = window_nll(model, plan.ids, plan.windows, batch)  # (W, 2)
    n = plan_summary(plan)
    detail = (
        f"{int(per_window[:, 1].sum())} test tokens of {n['documents_scored']} of "
        f"{n['documents']} documents: {n['windows_scored']} of {n['windows']} windows of up to "
        f"{plan.block} tokens, stride {plan.stride}, sampled evenly across the test set"
    )
    return Evaluation(nll_metrics(per_window), document_records(plan, per_window), detail)


def _summarize(data: TaskData, rows: dict[str, list]) -> dict[str, dict[str, int]]:
    """Per encoded split what its rows hold: blocks of train and val, the test's scoring plan."""
    out: dict[str, dict[str, int]] = {
        split: {"blocks": len(rows[split])} for split in ("train", "val") if split in rows
    }
    if "test" in rows:
        out["test"] = plan_summary(rows["test"][0])
    return out


MIN_LINE_CHARS = 40  # a probe input: a line of a test document, not a heading


def _probe_lines(data: TaskData) -> list[str]:
    """The probe set's candidates: the test documents' lines (few, long documents)."""
    lines = (line.strip() for e in data.splits.test for line in e.texts[0].splitlines())
    return [line for line in lines if len(line) >= MIN_LINE_CHARS]


def _pretrained(data: TaskData, cfg: Any, batch_size: int) -> dict:
    """The pretrained model, no fine-tuning, scored like a run."""
    from loralens.baselines.run import base_model_entry

    return base_model_entry(data, cfg, batch_size)


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
    summarize=_summarize,
    version=VERSION,
    baselines={"zero_shot": _pretrained},
    probe_pool=_probe_lines,
)
