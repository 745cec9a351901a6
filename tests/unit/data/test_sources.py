"""Loaders: custom files, GLUE TSV directories, the hub code path, and bad input."""

import json
from pathlib import Path

import pytest

from loralens.data import get_task, load_task
from loralens.errors import DataError

CUSTOM = """name: reviews
text_fields: [text]
label_names: [neg, pos]
source:
  kind: file
  file: {file}
  columns: {{text: review, label: stars}}
"""


def _write_custom(tmp_path: Path, rows: list[dict], suffix: str = ".csv") -> Path:
    data = tmp_path / f"data{suffix}"
    if suffix == ".jsonl":
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        sep = "\t" if suffix == ".tsv" else ","
        keys = list(rows[0])
        data.write_text(
            sep.join(keys) + "\n" + "".join(sep.join(str(r[k]) for k in keys) + "\n" for r in rows)
        )
    spec = tmp_path / "task.yaml"
    spec.write_text(CUSTOM.format(file=data.name))
    return spec


def _rows(n: int = 60) -> list[dict]:
    return [{"review": f"review number {i}", "stars": "pos" if i % 3 else "neg"} for i in range(n)]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_custom_task_from_file(tmp_path: Path, suffix: str) -> None:
    spec_path = _write_custom(tmp_path, _rows(), suffix)
    data = load_task(str(spec_path))
    s = data.splits
    assert len(s.train) + len(s.val) + len(s.test) == 60
    assert data.spec.label_names == ["neg", "pos"]
    assert s.notes  # no official test split: a held-out part was carved


def test_custom_file_missing_mapped_column(tmp_path: Path) -> None:
    rows = [{"text": "x", "stars": "pos"}] * 10
    with pytest.raises(DataError, match=r"no column 'review'.*columns present: text, stars"):
        load_task(str(_write_custom(tmp_path, rows)))


def test_labels_outside_declared_set(tmp_path: Path) -> None:
    rows = [*_rows(10), {"review": "odd", "stars": "meh"}]
    with pytest.raises(DataError, match=r"row 11: label 'meh' is outside.*neg, pos"):
        load_task(str(_write_custom(tmp_path, rows)))


def test_empty_custom_file(tmp_path: Path) -> None:
    spec_path = _write_custom(tmp_path, _rows(2), ".jsonl")
    (tmp_path / "data.jsonl").write_text("")
    with pytest.raises(DataError, match="empty"):
        load_task(str(spec_path))


def test_data_dir_without_expected_files(tmp_path: Path) -> None:
    (tmp_path / "MRPC").mkdir()
    (tmp_path / "MRPC" / "train.tsv").write_text("x\n")
    with pytest.raises(DataError, match=r"MRPC/dev.tsv"):
        load_task("mrpc", tmp_path)


def test_unknown_task_suggests_closest() -> None:
    with pytest.raises(DataError, match="did you mean 'sst2'"):
        get_task("sst-2")


def test_hub_code_path_with_a_local_dataset(tmp_path: Path) -> None:
    """The hub loader (used with internet) reads train/validation splits via `datasets`."""
    folder = tmp_path / "glue-like"
    folder.mkdir()
    for split, n in (("train", 40), ("validation", 12)):
        rows = [{"sentence": f"{split} sentence {i}", "label": i % 2} for i in range(n)]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = tmp_path / "hubtask.yaml"
    spec.write_text(
        "name: hubtask\ntext_fields: [sentence]\nlabel_names: [negative, positive]\n"
        f"source: {{kind: hub, hub: {{path: '{folder}'}}}}\n"
    )
    data = load_task(str(spec))
    assert len(data.splits.test) == 12
    assert len(data.splits.train) + len(data.splits.val) == 40


def test_glue_tsv_labels_by_name(glue_dir: Path) -> None:
    data = load_task("rte", glue_dir)
    assert len(data.splits.test) == 277
    assert {e.label for e in data.splits.test} == {0, 1}
    assert len(data.splits.test[0].texts) == 2


def test_hub_failure_names_both_ways_to_give_a_local_glue_folder(monkeypatch) -> None:
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'nyu-mll/glue' on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError) as info:
        load_task("mrpc")
    assert "task.data_dir=DIR (train, run, config)" in str(info.value)
    assert "--data-dir DIR (data stats, sanity, probe)" in str(info.value)


@pytest.mark.parametrize(
    ("suffix", "content", "message"),
    [
        (
            ".csv",
            b"review,stars\nok,pos\nbad \xff byte,neg\n",
            r"data.csv line 3: byte 0xff is not UTF-8",
        ),
        (
            ".jsonl",
            b'{"review": "a", "stars": "pos"}\n[1, 2]\n',
            r"line 2: a JSON list, not an object",
        ),
        (".jsonl", b'{"review": "a", "stars": "pos"}\n{"review": "b\n', r"line 2: not valid JSON"),
        (".csv", b'review,stars\n"unclosed,pos\nok,neg\n', r"row 1: fewer fields than the header"),
    ],
)
def test_bad_data_is_one_line_naming_file_and_line(
    tmp_path: Path, suffix: str, content: bytes, message: str
) -> None:
    spec_path = _write_custom(tmp_path, _rows(2), suffix)
    (tmp_path / f"data{suffix}").write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_task(str(spec_path))


def test_a_single_class_task_is_refused(tmp_path: Path) -> None:
    rows = [{"review": f"review {i}", "stars": "pos"} for i in range(40)]
    with pytest.raises(DataError, match=r"has one class \(pos\); a classifier needs at least two"):
        load_task(str(_write_custom(tmp_path, rows)))
