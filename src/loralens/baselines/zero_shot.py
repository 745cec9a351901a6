"""Zero-shot classification with a decoder: log-likelihood of each label's choice word."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from loralens.data.spec import Example, Prompt, TaskSpec


def choice_sequences(
    tok: PreTrainedTokenizerBase, prompt: str, choices: list[str], max_length: int
) -> list[tuple[list[int], int]]:
    """(token ids of prompt + choice, number of choice tokens) per choice; prompt left-truncated."""
    prompt_ids = tok(prompt, add_special_tokens=True)["input_ids"]
    out = []
    for choice in choices:
        choice_ids = tok(choice, add_special_tokens=False)["input_ids"]
        keep = max(1, max_length - len(choice_ids))
        out.append((prompt_ids[-keep:] + choice_ids, len(choice_ids)))
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
        width = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)  # (B, T)
        mask = torch.zeros_like(ids)
        for i, (row, _) in enumerate(chunk):
            ids[i, : len(row)], mask[i, : len(row)] = torch.tensor(row), 1
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits  # (B, T, V)
        logp = F.log_softmax(logits.float(), dim=-1)
        for i, (row, k) in enumerate(chunk):
            positions = torch.arange(len(row) - k, len(row))  # the choice tokens
            targets = torch.tensor(row)[positions]
            scores.append(logp[i, positions - 1, targets].sum().cpu())
    return torch.stack(scores)


def zero_shot_predictions(
    model: PreTrainedModel,
    tok: PreTrainedTokenizerBase,
    spec: TaskSpec,
    prompt: Prompt,
    examples: list[Example],
    max_length: int,
    batch_size: int = 16,
) -> torch.Tensor:
    """Predicted label index per example: the choice with the highest log-likelihood."""
    seqs = [
        s
        for e in examples
        for s in choice_sequences(tok, spec.format_prompt(prompt, e), prompt.choices, max_length)
    ]
    scores = sequence_logprobs(model, seqs, tok.pad_token_id, batch_size)
    return scores.view(len(examples), len(prompt.choices)).argmax(-1)
