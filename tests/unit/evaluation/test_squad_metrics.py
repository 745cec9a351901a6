"""SQuAD v2 metrics against values derived by hand from the official evaluate-v2.0.py logic."""

from __future__ import annotations

import numpy as np
import pytest

from loralens.evaluation.squad_metrics import (
    UNANSWERABLE,
    compute_exact,
    compute_f1,
    get_tokens,
    normalize_answer,
    per_example,
    prediction_from_generation,
    squad_scores,
)

NORMALIZE = [
    ("The Cat!", "cat"),  # case, punctuation, leading article
    ("  An  apple,  a day ", "apple day"),  # every article, runs of spaces
    ("theory of anything", "theory of anything"),  # articles only as whole words
    ("the-end", "theend"),  # punctuation is removed, not replaced by a space
    ("$1,000.50", "100050"),
    ("a\tb\nc", "b c"),  # tabs and newlines are whitespace
    ("THE", ""),
    ("", ""),
    ("Ünïcode ÉLAN", "ünïcode élan"),  # lower() is Unicode-aware
    ("«the» end", "« » end"),  # only ASCII punctuation goes; the article leaves a space
]


@pytest.mark.parametrize(("text", "expected"), NORMALIZE)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


def test_get_tokens() -> None:
    assert get_tokens("") == []
    assert get_tokens("  the . ") == []
    assert get_tokens("New York, new york") == ["new", "york", "new", "york"]


# (gold, prediction, exact, f1); fractions worked out as 2PR/(P+R) from the token counts
PAIRS = [
    ("Denver Broncos", "the denver broncos.", 1, 1.0),
    ("", "", 1, 1.0),  # no-answer against no-answer
    ("", "Denver", 0, 0.0),  # no-answer against an answer
    ("Denver", "", 0, 0.0),
    ("", "the .", 1, 1.0),  # a prediction that normalizes to nothing is a no-answer
    ("Broncos", "Broncos won", 0, 2 / 3),  # P 1/2, R 1
    ("one two three four", "two three five", 0, 4 / 7),  # P 2/3, R 1/2
    ("new york new york", "new new new", 0, 4 / 7),  # common min(2, 3) = 2: P 2/3, R 2/4
    ("york", "york york", 0, 2 / 3),  # common 1: P 1/2, R 1
    ("york york", "york", 0, 2 / 3),  # P 1, R 1/2
    ("Denver", "Carolina", 0, 0.0),
    ("b a", "a b", 1, 1.0),  # 'a' is an article: both normalize to 'b'
]


@pytest.mark.parametrize(("gold", "pred", "exact", "f1"), PAIRS)
def test_exact_and_f1_pairs(gold: str, pred: str, exact: int, f1: float) -> None:
    assert compute_exact(gold, pred) == exact
    assert compute_f1(gold, pred) == pytest.approx(f1, abs=1e-12)


def test_bag_of_tokens_ignores_order() -> None:
    assert compute_exact("paris france", "france paris") == 0
    assert compute_f1("paris france", "france paris") == 1.0


# (gold answers, prediction, exact, f1)
QUESTIONS = [
    (["Denver Broncos", "Broncos"], "the Broncos team", 0, 2 / 3),  # max(1/2, 2/3)
    (["x y", "Broncos"], "broncos!", 1, 1.0),  # exact from the second gold
    ([], "", 1, 1.0),  # unanswerable: the only gold is ""
    ([], "Carolina", 0, 0.0),
    (["the", "."], "", 1, 1.0),  # golds that normalize to "" are dropped, leaving [""]
    (["the", "Denver"], "", 0, 0.0),  # ... unless a real one remains
]


@pytest.mark.parametrize(("golds", "pred", "exact", "f1"), QUESTIONS)
def test_per_question_max_over_golds(golds: list[str], pred: str, exact: int, f1: float) -> None:
    ex, f = per_example([golds], [pred])
    assert ex.tolist() == [exact]
    assert f[0] == pytest.approx(f1, abs=1e-12)


def test_per_example_arrays_are_aligned_float64() -> None:
    ex, f1 = per_example([["a b"], [], ["c"]], ["b", "x", "c"])
    assert ex.dtype == f1.dtype == np.float64
    assert ex.tolist() == [1.0, 0.0, 1.0]  # "a b" normalizes to "b"
    assert f1.tolist() == [1.0, 0.0, 1.0]


def test_scores_with_has_and_no_answer_breakdown() -> None:
    golds = [["Denver Broncos"], ["Broncos"], [], []]
    preds = ["Denver Broncos", "Broncos won", "", "Carolina"]
    # exact (1, 0, 1, 0); f1 (1, 2/3, 1, 0)
    s = squad_scores(golds, preds)
    assert set(s) == {
        "exact",
        "f1",
        "total",
        *(f"{g}_{k}" for g in ("HasAns", "NoAns") for k in ("exact", "f1", "total")),
    }
    assert s["exact"] == pytest.approx(50.0)
    assert s["f1"] == pytest.approx(100 * (8 / 3) / 4)
    assert s["total"] == 4
    assert s["HasAns_exact"] == pytest.approx(50.0)
    assert s["HasAns_f1"] == pytest.approx(100 * (5 / 3) / 2)
    assert s["HasAns_total"] == 2
    assert s["NoAns_exact"] == pytest.approx(50.0)
    assert s["NoAns_f1"] == pytest.approx(50.0)
    assert s["NoAns_total"] == 2


def test_empty_group_is_left_out() -> None:
    only_answerable = squad_scores([["a dog"], ["cat"]], ["dog", "the cat"])
    assert only_answerable == {
        "exact": 100.0,
        "f1": 100.0,
        "total": 2,
        "HasAns_exact": 100.0,
        "HasAns_f1": 100.0,
        "HasAns_total": 2,
    }
    only_unanswerable = squad_scores([[], []], ["", "x"])
    assert "HasAns_total" not in only_unanswerable
    assert only_unanswerable["NoAns_exact"] == pytest.approx(50.0)


def test_answers_normalizing_to_nothing_still_count_as_has_answer() -> None:
    # the official script groups by the raw answer list, but scores against [""]
    s = squad_scores([["the"]], [""])
    assert s["HasAns_total"] == 1 and s["HasAns_exact"] == 100.0
    assert "NoAns_total" not in s


@pytest.mark.parametrize(
    ("golds", "preds", "message"),
    [
        ([["a"]], ["a", "b"], "1 gold answer lists and 2 predictions"),
        ([], [], "0 gold answer lists and 0 predictions"),
        (["a"], ["a"], "not strings"),
    ],
)
def test_bad_arguments(golds: list, preds: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        squad_scores(golds, preds)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Unanswerable \n", ""),
        (UNANSWERABLE, ""),
        ("UNANSWERABLE", ""),
        (" Denver Broncos ", "Denver Broncos"),
        ("Unanswerable.", ""),  # normalized as the official script normalizes answers
        ("the unanswerable!", ""),
        ("unanswerable question", "unanswerable question"),
        ("", ""),
    ],
)
def test_prediction_from_generation(text: str, expected: str) -> None:
    assert prediction_from_generation(text) == expected
