"""Generative QA on decoder-only models: the prompt, prompt+target encoding, greedy decoding.

Truncation rule (training and generation alike): a row keeps its whole target (and the eos after
it) and as much of the prompt as fits, cut from the prompt's LEFT. The prompt ends with the
question and "Answer:", so a long context loses its beginning, never the question. Tokens the
tokenizer puts in front of any text (a BOS for Llama-2-style tokenizers) are kept at the front.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

from loralens.batching import length_order
from loralens.errors import DataError, ModelError
from loralens.evaluation.squad_metrics import UNANSWERABLE

IGNORE_INDEX = -100  # label of a token that does not count in the loss (HF convention)


def qa_prompt(context: str, question: str) -> str:
    """The fixed extractive QA prompt; the answer follows it after a space."""
    return f"Context: {context}\nQuestion: {question}\nAnswer:"


def qa_target(answers: Sequence[str]) -> str:
    """The text a model learns to generate: the first gold answer, or the unanswerable string."""
    return f" {answers[0]}" if answers else f" {UNANSWERABLE}"


def prompt_ids(tokenizer: PreTrainedTokenizerBase, prompt: str, budget: int | None) -> list[int]:
    """The prompt's ids, cut from the left to at most `budget` tokens, leading specials kept."""
    head = tokenizer("")["input_ids"]  # put in front of every text: a BOS, or nothing
    body = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    if budget is not None and len(head) + len(body) > budget:
        body = body[len(head) + len(body) - budget :] if budget > len(head) else []
    return head + body


def encode_prompt_target(
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    targets: Sequence[str],
    max_length: int,
) -> list[dict]:
    """Rows of prompt + target + eos ids, the loss on the target and eos only (see module doc)."""
    if len(prompts) != len(targets):
        raise ValueError(f"{len(prompts)} prompts and {len(targets)} targets must be equal")
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ModelError("the tokenizer has no eos token to end a target with")
    head = len(tokenizer("")["input_ids"])
    rows = []
    for i, (prompt, target) in enumerate(zip(prompts, targets, strict=True)):
        target_ids = [*tokenizer(target, add_special_tokens=False)["input_ids"], eos]
        budget = max_length - len(target_ids)  # what the prompt may take
        if budget <= head:
            raise DataError(
                f"example {i}: target {target[:40]!r} takes {len(target_ids)} tokens with eos, "
                f"leaving no room for the prompt within max_length {max_length}"
            )
        p_ids = prompt_ids(tokenizer, prompt, budget)
        rows.append(
            {
                "input_ids": p_ids + target_ids,
                "attention_mask": [1] * (len(p_ids) + len(target_ids)),
                "labels": [IGNORE_INDEX] * len(p_ids) + target_ids,
            }
        )
    return rows


@dataclass(frozen=True)
class PromptTargetCollator:
    """Right-pads encoded prompt+target rows into a batch for the HF Trainer."""

    pad_id: int

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        """input_ids and attention_mask padded with pad/0, labels with -100, all (B, T)."""
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)  # (B, T)
        mask = torch.zeros((len(rows), width), dtype=torch.long)  # (B, T)
        labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)  # (B, T)
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n] = torch.tensor(r["input_ids"])
            mask[i, :n] = torch.tensor(r["attention_mask"])
            labels[i, :n] = torch.tensor(r["labels"])
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def newline_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Ids of every token whose text contains a newline (generation stops at any of them)."""
    return [i for i in range(len(tokenizer)) if "\n" in tokenizer.decode([i])]


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Left-pad token id lists so every row's last prompt token sits in the last column."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(rows), width), dtype=torch.long)  # (B, T)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(list(r), dtype=torch.long)
        mask[i, width - len(r) :] = 1
    return {"input_ids": ids, "attention_mask": mask}


def continuation_text(
    tokenizer: PreTrainedTokenizerBase, new_ids: Sequence[int], stop_ids: set[int]
) -> str:
    """Generated ids as text: up to the first stop token, cut at the first newline, stripped."""
    kept = []
    for t in new_ids:
        if t in stop_ids and "\n" not in tokenizer.decode([t]):  # eos/pad: drop the token
            break
        kept.append(t)
        if t in stop_ids:  # a newline token: keep any text before the newline
            break
    text = tokenizer.decode(kept, skip_special_tokens=True)
    return text.split("\n", 1)[0].strip()


def greedy_generate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    max_new_tokens: int,
    batch_size: int = 8,
    max_prompt_length: int | None = None,
) -> list[str]:
    """Greedy continuations of the prompts (stopped at eos or a newline, stripped), in order."""
    scored = greedy_generate_scored(
        model, tokenizer, prompts, max_new_tokens, batch_size, max_prompt_length
    )
    return [text for text, _ in scored]


def mean_logprob(step_logits: torch.Tensor, tokens: torch.Tensor, stops: set[int]) -> float:
    """Mean log-probability of generated `tokens` (T,) under their step logits (T, V), up to and
    including the first stop token: the model's confidence in what it said."""
    logp = torch.log_softmax(step_logits.float(), dim=-1)  # (T, V)
    picked = logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)  # (T,)
    ends = [i for i, t in enumerate(tokens.tolist()) if t in stops]
    n = ends[0] + 1 if ends else len(picked)
    return float(picked[:n].mean())


@torch.no_grad()
def greedy_generate_scored(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    max_new_tokens: int,
    batch_size: int = 8,
    max_prompt_length: int | None = None,
) -> list[tuple[str, float]]:
    """Greedy continuations of the prompts with their mean token log-probability, in order.

    Prompts are batched by length and left-padded here (the tokenizer is not touched), in eval
    mode; a prompt longer than max_prompt_length is cut from the left like a training row.
    """
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    if eos is None:
        raise ModelError("the tokenizer has no eos token to stop generation at")
    pad = eos if pad is None else pad
    stops = [eos, *newline_ids(tokenizer)]
    config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        eos_token_id=stops,
        pad_token_id=pad,
        output_scores=True,
        return_dict_in_generate=True,
    )
    encoded = [prompt_ids(tokenizer, p, max_prompt_length) for p in prompts]
    order = length_order([len(ids) for ids in encoded])
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out: list[tuple[str, float]] = [("", 0.0)] * len(prompts)
    ends = {*stops, pad}
    try:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = left_pad([encoded[i] for i in idx], pad)
            width = batch["input_ids"].shape[1]
            batch = {k: v.to(device) for k, v in batch.items()}
            gen = model.generate(**batch, generation_config=config)
            new_ids = gen.sequences[:, width:].cpu()  # (B, new)
            logits = torch.stack(gen.scores, dim=1).cpu()  # (B, new, V)
            for b, i in enumerate(idx):
                text = continuation_text(tokenizer, new_ids[b].tolist(), ends)
                out[i] = (text, mean_logprob(logits[b], new_ids[b], ends))
    finally:
        model.train(was_training)
    return out
