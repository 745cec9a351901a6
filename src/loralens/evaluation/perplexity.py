"""Language-model encoding and perplexity: fixed-length blocks to train on, strided windows to
score held-out text (every token scored once, with up to `block - stride` tokens of context).

Held-out text is scored document by document: windows never cross a document's boundary, each
belongs to one document, and a window budget is spent on an evenly spaced sample (a seeded
start) of the windows of the whole test set, so every part of it is read, not its first pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from loralens.errors import ConfigError


def token_stream(tokenizer: PreTrainedTokenizerBase, documents: list[str]) -> list[int]:
    """The documents' tokens concatenated, each document followed by the EOS token."""
    eos = tokenizer.eos_token_id
    ids: list[int] = []
    for doc in documents:
        ids += tokenizer(doc, add_special_tokens=False)["input_ids"] + [eos]
    return ids


def document_ids(tokenizer: PreTrainedTokenizerBase, documents: list[str]) -> list[list[int]]:
    """Each document's tokens between two EOS tokens: the first is its context (never scored),
    the last is scored (the model predicts where the document ends), as in `token_stream`."""
    eos = tokenizer.eos_token_id
    return [[eos, *tokenizer(d, add_special_tokens=False)["input_ids"], eos] for d in documents]


def check_block(block: int, model_context: int | None) -> None:
    """Raise when a block is longer than the model's context (or too short to predict)."""
    if block < 2:
        raise ConfigError(f"model.max_length {block} is the block size: it must be >= 2")
    if model_context is not None and block > model_context:
        raise ConfigError(
            f"model.max_length {block} (the language-modelling block size) exceeds the model's "
            f"context of {model_context} tokens; allowed: 2..{model_context}"
        )


def blocks(ids: list[int], block: int, limit: int | None, seed: int) -> list[dict]:
    """Non-overlapping full blocks (labels = inputs); at most `limit`, a seeded fixed subset."""
    n = len(ids) // block
    picked = range(n)
    if limit is not None and limit < n:
        picked = sorted(np.random.default_rng(seed).choice(n, size=limit, replace=False).tolist())
    out = []
    for i in picked:
        chunk = ids[i * block : (i + 1) * block]
        out.append({"input_ids": chunk, "attention_mask": [1] * block, "labels": chunk})
    return out


@dataclass(frozen=True)
class Window:
    """One scoring window: tokens [begin, end) are its input, those from `first` on are scored."""

    begin: int
    end: int
    first: int  # first scored position (>= begin + 1: position `begin` has no context)


def windows(n_tokens: int, block: int, stride: int) -> list[Window]:
    """Strided windows over a stream so that every token from position 1 on is scored once."""
    if not 0 < stride <= block:
        raise ConfigError(f"stride {stride} must be in 1..{block} (the block size)")
    out: list[Window] = []
    scored_to = 1  # position 0 has no context and is never scored
    begin = 0
    while scored_to < n_tokens:
        end = min(begin + block, n_tokens)
        out.append(Window(begin, end, scored_to))
        scored_to = end
        begin = min(begin + stride, max(end - 1, 0)) if end < n_tokens else end
    return out


def systematic_sample(n_items: int, limit: int | None, seed: int) -> list[int]:
    """Indices of `limit` of `n_items` items evenly spaced from a seeded random start (all of
    them when the limit is None or not below n_items); each item is picked with equal chance."""
    if limit is not None and limit < 1:
        raise ConfigError(f"a sample of {limit} windows scores nothing; give at least 1")
    if limit is None or limit >= n_items:
        return list(range(n_items))
    step = n_items / limit  # > 1: the picks are distinct
    start = np.random.default_rng(seed).uniform(0.0, step)
    return [int(start + i * step) for i in range(limit)]


@dataclass(frozen=True)
class ScoringPlan:
    """Which windows of a test set are scored: the documents' tokens concatenated, the sampled
    windows in that stream's positions (none crosses a document) and each one's document."""

    ids: list[int]
    windows: list[Window]
    documents: list[int]  # per window: the index of its document in the test split
    n_documents: int  # documents in the test set
    n_windows: int  # windows of the whole test set, before sampling
    block: int  # the longest window (a document shorter than it has a shorter one)
    stride: int

    def scored_documents(self) -> list[int]:
        """The documents at least one sampled window reads, in order."""
        return sorted(set(self.documents))


def scoring_plan(
    docs: list[list[int]], block: int, stride: int, limit: int | None, seed: int
) -> ScoringPlan:
    """Every document's strided windows, and at most `limit` of all of them sampled evenly
    across the whole test set (`systematic_sample`), kept in document order."""
    ids: list[int] = []
    every: list[tuple[int, Window]] = []  # (document, window in stream positions)
    for d, doc in enumerate(docs):
        offset = len(ids)
        ids += doc
        every += [
            (d, Window(w.begin + offset, w.end + offset, w.first + offset))
            for w in windows(len(doc), block, stride)
        ]
    if not every:
        raise ConfigError("the test documents hold no token to score")
    picked = [every[i] for i in systematic_sample(len(every), limit, seed)]
    return ScoringPlan(
        ids=ids,
        windows=[w for _, w in picked],
        documents=[d for d, _ in picked],
        n_documents=len(docs),
        n_windows=len(every),
        block=block,
        stride=stride,
    )


def per_document(per_window: np.ndarray, documents: list[int]) -> dict[int, tuple[float, int]]:
    """Summed cross-entropy (nats) and scored tokens of each document from its windows' rows."""
    out: dict[int, tuple[float, int]] = {}
    for d, (total, count) in zip(documents, per_window, strict=True):
        t, c = out.get(d, (0.0, 0))
        out[d] = (t + float(total), c + int(count))
    return out


@torch.no_grad()
def window_nll(
    model: PreTrainedModel, ids: list[int], wins: list[Window], batch_size: int = 8
) -> np.ndarray:
    """(W, 2): per window the summed cross-entropy (nats) of its scored tokens and their count."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = np.zeros((len(wins), 2))
    for start in range(0, len(wins), batch_size):
        part = wins[start : start + batch_size]
        width = max(w.end - w.begin for w in part)
        x = torch.zeros((len(part), width), dtype=torch.long)  # (B, T)
        mask = torch.zeros((len(part), width), dtype=torch.long)  # (B, T)
        for i, w in enumerate(part):
            x[i, : w.end - w.begin] = torch.tensor(ids[w.begin : w.end])
            mask[i, : w.end - w.begin] = 1
        logits = model(input_ids=x.to(device), attention_mask=mask.to(device)).logits  # (B, T, V)
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)  # (B, T-1, V): predicts 1..T-1
        nll = -logp.gather(-1, x[:, 1:].to(device).unsqueeze(-1)).squeeze(-1).cpu()  # (B, T-1)
        for i, w in enumerate(part):
            lo, hi = w.first - w.begin - 1, w.end - w.begin - 1  # target positions, shifted
            out[start + i] = (float(nll[i, lo:hi].double().sum()), hi - lo)
    model.train(was_training)
    return out


def nll_metrics(per_window: np.ndarray) -> dict[str, float]:
    """Mean token cross-entropy (nats) and perplexity over all scored tokens."""
    total, count = per_window.sum(axis=0)
    nll = float(total / count)
    return {"nll": nll, "perplexity": math.exp(nll)}
