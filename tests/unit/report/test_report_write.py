"""write_report: every output written, results.json untouched, nothing half-written on failure."""

from __future__ import annotations

import errno
import hashlib
import json
import re
from pathlib import Path

import pytest

from loralens.report import ReportError, figures, write_report
from loralens.report.figures import FIGURES, FigureSpec
from loralens.results.schema import SCHEMA_VERSION
from tests.unit.report._synthetic import NOT_IN_FULL, empty_results, minimal_dict
from tests.unit.report.conftest import write_run

OUTPUTS = ("report.html", "report.md", "tables.tex")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_full_report_writes_every_output(full_run: tuple[Path, dict]) -> None:
    run, written = full_run
    for name in OUTPUTS:
        assert (run / name).is_file() and (run / name).stat().st_size > 0
        assert written[name] == run / name
    pngs = sorted(p.name for p in (run / "figures").glob("*.png"))
    # every figure but those whose data the synthetic study lacks
    assert pngs == sorted(f"{s.key}.png" for s in FIGURES if s.key not in NOT_IN_FULL)
    assert sorted(k for k in written if k.startswith("figures/")) == [f"figures/{p}" for p in pngs]
    assert not [p for p in run.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_minimal_report_writes_only_figures_with_data(minimal_run: tuple[Path, dict]) -> None:
    run, _ = minimal_run
    assert all((run / name).is_file() for name in OUTPUTS)
    assert [p.name for p in (run / "figures").iterdir()] == ["performance.png"]


def test_results_json_is_not_modified(tmp_path: Path, minimal: dict) -> None:
    run = write_run(tmp_path, minimal)
    before = _sha(run / "results.json")
    write_report(run)
    assert _sha(run / "results.json") == before


def test_figures_are_150_dpi_pngs(full_run: tuple[Path, dict]) -> None:
    from PIL import Image

    run, _ = full_run
    for png in (run / "figures").glob("*.png"):
        with Image.open(png) as im:
            assert im.format == "PNG"
            assert [round(d) for d in im.info["dpi"]] == [150, 150]


def _boom(results: object) -> None:
    raise RuntimeError("figure bug")


def test_a_failing_figure_writes_nothing(
    tmp_path: Path, minimal: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = write_run(tmp_path, minimal)
    monkeypatch.setattr(figures, "FIGURES", (*FIGURES, FigureSpec("boom", "drift", "x", _boom)))
    with pytest.raises(RuntimeError, match="figure bug"):
        write_report(run)
    assert sorted(p.name for p in run.iterdir()) == ["results.json"]


def test_a_failing_rerun_keeps_the_previous_report(
    tmp_path: Path, minimal: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = write_run(tmp_path, minimal)
    write_report(run)
    before = {n: _sha(run / n) for n in (*OUTPUTS, "figures/performance.png")}
    monkeypatch.setattr(figures, "FIGURES", (FigureSpec("boom", "drift", "", _boom),))
    with pytest.raises(RuntimeError):
        write_report(run)
    assert {n: _sha(run / n) for n in before} == before
    assert sorted(p.name for p in run.iterdir()) == sorted(["figures", *OUTPUTS, "results.json"])


def test_a_failing_move_leaves_no_staging(
    tmp_path: Path, minimal: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loralens.report import write as write_module

    run = write_run(tmp_path, minimal)

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(write_module, "_publish", fail)
    with pytest.raises(OSError, match="disk full"):
        write_report(run)
    assert sorted(p.name for p in run.iterdir()) == ["results.json"]


def test_rerun_replaces_stale_figures(tmp_path: Path, minimal: dict) -> None:
    run = write_run(tmp_path, minimal)
    (run / "figures").mkdir()
    (run / "figures" / "stale.png").write_bytes(b"old")
    write_report(run)
    assert [p.name for p in (run / "figures").iterdir()] == ["performance.png"]


def test_an_older_schema_is_refused_with_how_to_get_a_current_one(
    tmp_path: Path, minimal_dict_: dict
) -> None:
    run = write_run(tmp_path, {**minimal_dict_, "schema_version": SCHEMA_VERSION - 1})
    expected = (
        f"has results schema version {SCHEMA_VERSION - 1}; this loralens reads version "
        f"{SCHEMA_VERSION}: rerun `loralens run`"
    )
    with pytest.raises(ReportError, match=re.escape(expected)):
        write_report(run)
    write_run(tmp_path, {"runs": []})
    with pytest.raises(ReportError, match="has results schema version none"):
        write_report(tmp_path)
    write_run(tmp_path, {**minimal_dict_, "runs": [{"task": "t"}]})
    with pytest.raises(ReportError, match="does not match the results schema"):
        write_report(tmp_path)


def test_missing_or_broken_results_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="not found"):
        write_report(tmp_path)
    (tmp_path / "results.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReportError, match="not readable JSON"):
        write_report(tmp_path)
    (tmp_path / "results.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ReportError, match="JSON object"):
        write_report(tmp_path)


def test_empty_and_nan_results_render(tmp_path: Path) -> None:
    # A NaN literal is not strict JSON, but a careless writer may emit one: it reads as "n/a".
    results = minimal_dict()
    results["runs"] = [{**results["runs"][0], "test": {"accuracy": "NAN_HERE"}}]
    text = json.dumps(results).replace('"NAN_HERE"', "NaN")
    (tmp_path / "results.json").write_text(text, encoding="utf-8")
    html = write_report(tmp_path)["report.html"].read_text(encoding="utf-8")
    assert "not available" in html
    assert "n/a" in html
    empty = write_run(tmp_path / "empty", empty_results())
    assert "report.html" in write_report(empty)


def test_a_read_only_run_folder_is_one_line_and_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = write_run(tmp_path / "run", minimal_dict())

    def read_only(*args: object, **kwargs: object) -> str:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("loralens.report.write.tempfile.mkdtemp", read_only)
    with pytest.raises(ReportError, match=r"cannot write the report into .*Read-only file system"):
        write_report(run)
    assert sorted(p.name for p in run.iterdir()) == ["results.json"]
