"""Fit a classification input to the model's length by cutting its fields, never its ends.

A right-truncated input loses what lies last: the second sentence of a pair (RTE's hypothesis)
or a prompt's cue ("Sentiment:"), which is what a last-token classifier reads. Instead, an
example too long for `max_length` tokens has its fields cut from their ends, the longest of
the fields before the last one first, the last field only when the others are empty; the
template's own words always survive. The cut example is what every model is given (fine-tuned,
zero-shot, probed), so all read the same input.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from loralens.data.spec import Example, TaskSpec
from loralens.errors import DataError

MAX_ROUNDS = 8  # re-tokenizing a cut text can merge tokens differently: re-check a few times


def n_tokens(tok: PreTrainedTokenizerBase, text: str) -> int:
    """Tokens of `text` as a model is given it (special tokens included)."""
    return len(tok(text)["input_ids"])


def _cut_field(tok: PreTrainedTokenizerBase, text: str, drop: int) -> str:
    """`text` without its last `drop` tokens (cut at a token boundary of the field alone)."""
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    keep = max(0, len(enc["input_ids"]) - drop)
    if keep == 0:
        return ""
    return text[: enc["offset_mapping"][keep - 1][1]].rstrip()


def _cut_order(tok: PreTrainedTokenizerBase, texts: tuple[str, ...]) -> list[int]:
    """Field indices in the order they are cut: the earlier fields longest first, then the last."""
    earlier = sorted(range(len(texts) - 1), key=lambda i: -n_tokens(tok, texts[i]))
    return [*earlier, len(texts) - 1]


def fit_example(
    spec: TaskSpec, tok: PreTrainedTokenizerBase, example: Example, max_length: int
) -> Example:
    """The example with fields cut so its formatted input takes at most `max_length` tokens."""
    excess = n_tokens(tok, spec.format_input(example)) - max_length
    if excess <= 0:
        return example
    texts = list(example.texts)
    for _ in range(MAX_ROUNDS):
        for i in _cut_order(tok, tuple(texts)):
            if excess <= 0:
                break
            have = len(tok(texts[i], add_special_tokens=False)["input_ids"])
            texts[i] = _cut_field(tok, texts[i], excess)
            excess -= have - len(tok(texts[i], add_special_tokens=False)["input_ids"])
        fitted = dataclasses.replace(example, texts=tuple(texts))
        excess = n_tokens(tok, spec.format_input(fitted)) - max_length
        if excess <= 0:
            return fitted
        if not any(texts):
            break
    raise DataError(
        f"task {spec.name}: the input template alone takes more than model.max_length = "
        f"{max_length} tokens; raise model.max_length"
    )


@dataclass(frozen=True)
class FitCounts:
    """How many examples of a split were cut, and how many lost a whole field."""

    examples: int
    cut: int
    emptied: int


def fit_examples(
    spec: TaskSpec, tok: PreTrainedTokenizerBase, examples: list[Example], max_length: int
) -> tuple[list[Example], FitCounts]:
    """Every example fitted to `max_length`, and how many were cut."""
    fitted = [fit_example(spec, tok, e, max_length) for e in examples]
    cut = sum(f is not e for f, e in zip(fitted, examples, strict=True))
    emptied = sum(
        any(t.strip() and not f_t.strip() for t, f_t in zip(e.texts, f.texts, strict=True))
        for f, e in zip(fitted, examples, strict=True)
    )
    return fitted, FitCounts(len(examples), cut, emptied)
