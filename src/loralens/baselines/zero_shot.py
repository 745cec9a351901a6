"""Zero-shot classification with a decoder: log-likelihood of each label's choice word."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from loralens.batching import in_original_order, length_order
from loralens.data.fit import fit_examples
from loralens.data.spec import Example, Prompt, TaskSpec
from loralens.evaluation.predict import pad_batch


def choice_sequences(
    tok: PreTrainedTokenizerBase, prompt: str, choices: list[str]
) -> list[tuple[list[int], int]]:
    """(token ids of prompt + choice, number of choice tokens) per choice."""
    prompt_ids = tok(prompt, add_special_tokens=True)["input_ids"]
    out = []
    for choice in choices:
        choice_ids = tok(choice, add_special_tokens=False)["input_ids"]
        out.append((prompt_ids + choice_ids, len(choice_ids)))
    return out


@torch.no_grad()
def sequence_logprobs(
    model: PreTrainedModel, seqs: list[tuple[list[int], int]], pad_id: int, batch_size: int
) -> torch.Tensor:
    """Summed log-probability of each sequence's last k tokens given what precedes them: (N,)."""
    device = next(model.parameters()).device
    scores = []
    for start in range(0, len(seqs), batch_size):
        chunk = seqs[start : start + batch_size]
        batch = pad_batch([{"input_ids": row} for row, _ in chunk], pad_id)
        logits = model(**{k: v.to(device) for k, v in batch.items()}).logits  # (B, T, V)
        for i, (row, k) in enumerate(chunk):
            positions = torch.arange(len(row) - k, len(row))  # the choice tokens
            logp = F.log_softmax(logits[i, positions - 1].float(), dim=-1)  # (k, V)
            scores.append(logp[torch.arange(k), torch.tensor(row)[positions]].sum().cpu())
    return torch.stack(scores)


@torch.no_grad()
def next_token_logprobs(
    model: PreTrainedModel,
    prefixes: list[list[int]],
    targets: torch.Tensor,
    pad_id: int,
    batch_size: int,
) -> torch.Tensor:
    """Log-probability of each target token right after its prefix: targets (N, C) -> (N, C)."""
    device = next(model.parameters()).device
    scores = []
    for start in range(0, len(prefixes), batch_size):
        chunk = prefixes[start : start + batch_size]
        batch = pad_batch([{"input_ids": row} for row in chunk], pad_id)
        logits = model(**{k: v.to(device) for k, v in batch.items()}).logits  # (B, T, V)
        last = torch.tensor([len(row) - 1 for row in chunk], device=logits.device)
        logp = F.log_softmax(logits[torch.arange(len(chunk)), last].float(), dim=-1)  # (B, V)
        scores.append(logp.gather(1, targets[start : start + len(chunk)].to(logp.device)).cpu())
    return torch.cat(scores)


def choice_logprobs(
    model: PreTrainedModel,
    tok: PreTrainedTokenizerBase,
    prompts: list[str],
    choices: list[str],
    batch_size: int,
) -> torch.Tensor:
    """Log-likelihood of each choice after each prompt: (N, C).

    When every choice is one token (so all follow the same prompt ids), one forward pass per
    prompt scores them all (the same quantity as scoring prompt + choice, at 1/C of the cost).
    """
    per_prompt = [choice_sequences(tok, p, choices) for p in prompts]
    # one-token choices are all appended to the same prompt ids
    if all(k == 1 for seqs in per_prompt for _, k in seqs):
        prefixes = [seqs[0][0][:-1] for seqs in per_prompt]
        targets = torch.tensor([[ids[-1] for ids, _ in seqs] for seqs in per_prompt])  # (N, C)
        order = length_order([len(p) for p in prefixes])
        scores = next_token_logprobs(
            model, [prefixes[i] for i in order], targets[order], tok.pad_token_id, batch_size
        )
        return in_original_order(scores, order)
    flat = [s for seqs in per_prompt for s in seqs]
    order = length_order([len(ids) for ids, _ in flat])
    scores = sequence_logprobs(model, [flat[i] for i in order], tok.pad_token_id, batch_size)
    return in_original_order(scores, order).view(len(prompts), len(choices))


def zero_shot_predictions(
    model: PreTrainedModel,
    tok: PreTrainedTokenizerBase,
    spec: TaskSpec,
    prompt: Prompt,
    examples: list[Example],
    max_length: int,
    batch_size: int = 16,
) -> torch.Tensor:
    """Predicted label index per example: the choice with the highest log-likelihood.

    The prompt wraps each example's input as a fine-tuned model sees it (`fit_examples`: its
    fields cut to `max_length` tokens), so both read the same input content; with a prompt head
    the formatted input is the prompt itself, so both read the same string.
    """
    seen, _ = fit_examples(spec, tok, examples, max_length)
    prompts = [spec.format_prompt(prompt, e) for e in seen]
    scores = choice_logprobs(model, tok, prompts, prompt.choices, batch_size)
    return scores.argmax(-1)
