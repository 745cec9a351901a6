"""QA prompts that fit `max_length` without losing the answer: sliding windows over the context.

A context too long for the prompt budget is read through windows of its tokens, each starting
half a window after the one before (the standard doc-stride: an answer up to half a window long
lies wholly inside at least one), the last one ending at the context's end; the question and
the "Answer:" cue are in every window's prompt. Training reads, for an answerable question, the
first window that holds a whole gold answer (the target is that answer), for an unanswerable one
the first window; a question whose every gold answer lies across window edges is left out of
training and counted (`answers_lost`). Evaluation generates in every window of a question and
keeps the most confident answer (no answer only when every window says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from loralens.data import Example
from loralens.errors import DataError
from loralens.evaluation.generate import prompt_ids, qa_prompt, qa_target

STRIDE_FRACTION = 0.5  # windows overlap by half: an answer of up to half a window fits one
MIN_CONTEXT_TOKENS = 8  # a window narrower than this leaves the question nothing to read
MAX_ROUNDS = 4  # re-tokenizing a window inside the prompt can merge tokens differently


@dataclass(frozen=True)
class ContextWindow:
    """Characters [start, end) of a context that one prompt reads."""

    start: int
    end: int

    def holds(self, answer: str, answer_start: int) -> bool:
        """True if the whole answer span lies inside the window."""
        return self.start <= answer_start and answer_start + len(answer) <= self.end


@dataclass(frozen=True)
class WindowPrompt:
    """One window's prompt, the window, and whether a gold answer lies wholly inside it."""

    prompt: str
    window: ContextWindow
    holds_answer: bool


def context_windows(tok: PreTrainedTokenizerBase, context: str, length: int) -> list[ContextWindow]:
    """Windows of at most `length` context tokens, `length * STRIDE_FRACTION` tokens apart, the
    last ending at the context's end (one window when the context fits)."""
    offsets = tok(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    n = len(offsets)
    if n <= length:
        return [ContextWindow(0, len(context))]
    step = max(1, int(length * STRIDE_FRACTION))
    starts = [*range(0, n - length, step), n - length]
    return [
        ContextWindow(0 if s == 0 else offsets[s][0], offsets[s + length - 1][1]) for s in starts
    ]


def _prompt(example: Example, window: ContextWindow) -> str:
    """The QA prompt of a question reading one window of its context."""
    context, question = example.texts
    return qa_prompt(context[window.start : window.end], question)


def _holds(example: Example, window: ContextWindow) -> bool:
    """True if a gold answer of the example lies wholly inside the window."""
    pairs = zip(example.answers, example.answer_starts, strict=True)
    return any(window.holds(a, s) for a, s in pairs)


def window_prompts(
    tok: PreTrainedTokenizerBase, example: Example, budget: int
) -> list[WindowPrompt]:
    """The question's prompts over windows of its context, each at most `budget` tokens."""
    context, question = example.texts
    length = budget - len(prompt_ids(tok, qa_prompt("", question), None))
    for _ in range(MAX_ROUNDS):
        if length < MIN_CONTEXT_TOKENS:
            raise DataError(
                f"question '{example.id}': the prompt without its context takes "
                f"{budget - length} of the {budget} tokens a prompt may have, leaving fewer "
                f"than {MIN_CONTEXT_TOKENS} for the context; raise model.max_length"
            )
        wins = context_windows(tok, context, length)
        prompts = [_prompt(example, w) for w in wins]
        excess = max(len(prompt_ids(tok, p, None)) for p in prompts) - budget
        if excess <= 0:
            return [
                WindowPrompt(p, w, _holds(example, w)) for p, w in zip(prompts, wins, strict=True)
            ]
        length -= excess
    raise DataError(f"question '{example.id}': its windows do not fit {budget} tokens")


def target_budget(tok: PreTrainedTokenizerBase, answer: str | None, max_length: int) -> int:
    """Tokens a training prompt may take beside the target of `answer` (None: no answer) + eos."""
    target = qa_target([answer] if answer is not None else [])
    return max_length - 1 - len(tok(target, add_special_tokens=False)["input_ids"])


def _fits(tok: PreTrainedTokenizerBase, example: Example, budget: int) -> bool:
    """True if the question's prompt leaves room for some context within `budget` tokens."""
    question = example.texts[1]
    return budget - len(prompt_ids(tok, qa_prompt("", question), None)) >= MIN_CONTEXT_TOKENS


def training_prompt(
    tok: PreTrainedTokenizerBase, example: Example, max_length: int
) -> tuple[str, str | None] | None:
    """(prompt, answer) a question trains on within `max_length`: the first window holding a
    whole gold answer (tried in order) and that answer; an unanswerable question's first window
    and None; None when no window holds any gold answer (the answer would be lost)."""
    if not example.answers:
        return window_prompts(tok, example, target_budget(tok, None, max_length))[0].prompt, None
    for answer, start in zip(example.answers, example.answer_starts, strict=True):
        budget = target_budget(tok, answer, max_length)
        if not _fits(tok, example, budget):
            continue  # this answer is too long to train on beside any context
        for w in window_prompts(tok, example, budget):
            if w.window.holds(answer, start):
                return w.prompt, answer
    return None


def best_answer(predictions: Sequence[str], confidences: Sequence[float]) -> str:
    """A question's prediction from its windows': the most confident answer, "" (no answer)
    only when every window predicts no answer."""
    answered = [(c, p) for p, c in zip(predictions, confidences, strict=True) if p]
    return max(answered, key=lambda cp: cp[0])[1] if answered else ""
