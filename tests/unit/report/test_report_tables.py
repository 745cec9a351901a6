"""The data table says what a language-modelling or QA run reads of each split."""

from __future__ import annotations

from loralens.report.tables import _encoded


def test_the_test_row_counts_documents_scored_and_answers_lost() -> None:
    lm = {"test": {"documents": 28, "documents_scored": 28, "windows": 1084, "windows_scored": 128}}
    assert _encoded(lm, "test") == "28 of 28 documents (128 of 1,084 windows)"
    qa = {"train": {"questions": 90, "rows": 87, "answers_lost": 3}}
    assert _encoded(qa, "train") == "3 answers lost"
    assert _encoded(None, "test") is None and _encoded(qa, "test") is None
