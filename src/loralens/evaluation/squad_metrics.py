"""SQuAD v2 exact match and F1, with the logic of the official `evaluate-v2.0.py`.

Mirrored from the official script (read as stored in the public `qwang70/bert` repository,
`evaluate-v2.0.py`): `normalize_answer` (lower, drop `string.punctuation`, replace the articles
`\\b(a|an|the)\\b` by a space, collapse whitespace, in that order), `get_tokens` (an empty string
has no tokens), `compute_exact`, `compute_f1` (F1 = int(gold_toks == pred_toks) when either side
has no tokens), `get_raw_scores` (gold answers that normalize to "" are dropped, an unanswerable
question's only gold answer is "", the max over gold answers per question),
`make_qid_to_has_ans` (a question has an answer when its raw answer list is non-empty) and
`make_eval_dict`/`merge_eval` (percentages; `HasAns_*`/`NoAns_*` only for a non-empty group).
Not mirrored: the no-answer probability threshold and precision-recall curves (the default
threshold 1.0 leaves the scores unchanged), and missing predictions (here every question has one).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

UNANSWERABLE = "unanswerable"  # the target a generative model is trained to say for no answer

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower-case, drop punctuation and the articles a/an/the, collapse whitespace."""
    text = "".join(ch for ch in s.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def get_tokens(s: str) -> list[str]:
    """The normalized answer's whitespace tokens (none for an empty string)."""
    return normalize_answer(s).split() if s else []


def compute_exact(gold: str, pred: str) -> int:
    """1 if gold and prediction are equal after normalization, else 0."""
    return int(normalize_answer(gold) == normalize_answer(pred))


def compute_f1(gold: str, pred: str) -> float:
    """Token-overlap F1 of a prediction against one gold answer (bag of tokens)."""
    gold_toks, pred_toks = get_tokens(gold), get_tokens(pred)
    if not gold_toks or not pred_toks:
        return float(gold_toks == pred_toks)  # a no-answer agrees only with a no-answer
    num_same = sum((Counter(gold_toks) & Counter(pred_toks)).values())
    if num_same == 0:
        return 0.0
    precision, recall = num_same / len(pred_toks), num_same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def scored_golds(answers: Sequence[str]) -> list[str]:
    """The gold answers a question is scored against: non-empty after normalization, else [""]."""
    return [a for a in answers if normalize_answer(a)] or [""]


def per_example(
    golds: Sequence[Sequence[str]], preds: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Exact match (0/1) and F1 in [0, 1] per question, each the max over its gold answers."""
    _check(golds, preds)
    exact = np.zeros(len(preds), dtype=np.float64)  # (N,)
    f1 = np.zeros(len(preds), dtype=np.float64)  # (N,)
    for i, (answers, pred) in enumerate(zip(golds, preds, strict=True)):
        candidates = scored_golds(answers)
        exact[i] = max(compute_exact(a, pred) for a in candidates)
        f1[i] = max(compute_f1(a, pred) for a in candidates)
    return exact, f1


def squad_scores(golds: Sequence[Sequence[str]], preds: Sequence[str]) -> dict[str, float]:
    """The official summary: exact, f1 (percent) and total, overall and per HasAns/NoAns group.

    A group with no questions is left out of the result, as the official script does (a set
    without unanswerable questions has no `NoAns_*` keys). Totals are counts.
    """
    exact, f1 = per_example(golds, preds)
    has_ans = np.array([bool(a) for a in golds])  # (N,) raw answers, as make_qid_to_has_ans
    out = _summary(exact, f1)
    for prefix, mask in (("HasAns", has_ans), ("NoAns", ~has_ans)):
        if mask.any():
            out |= {f"{prefix}_{k}": v for k, v in _summary(exact[mask], f1[mask]).items()}
    return out


def prediction_from_generation(text: str) -> str:
    """A generated answer as a SQuAD prediction: stripped, and "" when it says unanswerable
    once normalized as the official script normalizes answers ("Unanswerable." is no answer)."""
    answer = text.strip()
    return "" if normalize_answer(answer) == normalize_answer(UNANSWERABLE) else answer


def _summary(exact: np.ndarray, f1: np.ndarray) -> dict[str, float]:
    """Mean exact and F1 in percent, and the number of questions."""
    return {
        "exact": 100.0 * float(exact.sum()) / exact.size,
        "f1": 100.0 * float(f1.sum()) / f1.size,
        "total": exact.size,
    }


def _check(golds: Sequence[Sequence[str]], preds: Sequence[str]) -> None:
    """Raise unless there is one prediction per question and at least one question."""
    if len(golds) != len(preds) or not preds:
        raise ValueError(
            f"{len(golds)} gold answer lists and {len(preds)} predictions must be equal, non-empty"
        )
    if any(isinstance(a, str) for a in golds):
        raise ValueError("golds must be one list of answer strings per question, not strings")
