"""Fixtures for the report tests: synthetic results, and reports written once per session."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from loralens.report import write_report
from loralens.results.schema import Results
from tests.unit.report._produced import produce
from tests.unit.report._synthetic import minimal_dict, synthetic_dict, typed


@pytest.fixture(scope="session")
def full_dict(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The realistic study's results.json, built by the analysis from its stage artifacts."""
    return produce(tmp_path_factory.mktemp("artifacts"), synthetic_dict())


@pytest.fixture(scope="session")
def full(full_dict: dict) -> Results:
    """The realistic synthetic results, validated."""
    return typed(full_dict)


@pytest.fixture(scope="session")
def minimal_dict_() -> dict:
    """Only the study block and the runs, as results.json holds them."""
    return minimal_dict()


@pytest.fixture(scope="session")
def minimal(minimal_dict_: dict) -> Results:
    """Only the study block and the runs, validated."""
    return typed(minimal_dict_)


def write_run(root: Path, results: dict | Results) -> Path:
    """A run directory holding `results` as results.json."""
    root.mkdir(parents=True, exist_ok=True)
    if isinstance(results, Results):
        text = results.model_dump_json(exclude_unset=True)
    else:
        text = json.dumps(results)
    (root / "results.json").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def full_run(tmp_path_factory: pytest.TempPathFactory, full_dict: dict) -> tuple[Path, dict]:
    """A run directory with the full report written (once per session) and what was written."""
    run = write_run(tmp_path_factory.mktemp("full") / "run", full_dict)
    return run, write_report(run)


@pytest.fixture(scope="session")
def minimal_run(tmp_path_factory: pytest.TempPathFactory, minimal_dict_: dict) -> tuple[Path, dict]:
    """A run directory with the minimal report written."""
    run = write_run(tmp_path_factory.mktemp("minimal") / "run", minimal_dict_)
    return run, write_report(run)


class _Tables(HTMLParser):
    """Collects the cells of every <table> inside an element with an id ('table-<key>')."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._id: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ident = dict(attrs).get("id") or ""
        if ident.startswith("table-"):
            self._id = ident.removeprefix("table-")
            self.tables[self._id] = []
        elif tag == "tr" and self._id:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._id:
            self.tables[self._id].append(self._row)
            self._row = None
        elif tag == "table":
            self._id = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_tables(html: str) -> dict[str, list[list[str]]]:
    """The HTML report's tables by key, header row first."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables
