"""`loralens verify`: every way an artifact can differ from its manifest is named, and only it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from loralens.study.executors import LocalExecutor
from loralens.study.runner import run_study
from loralens.study.store import manifest_digest
from loralens.study.verify import verify_run
from tests.unit.study._fake_study import fake_study

HERE = {"loralens": "0.1.0", "python": "3.11.9", "torch_build": "2.13.0+cpu", "packages": {}}


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A finished fake study whose manifests carry HERE as their environment."""
    monkeypatch.setattr("loralens.study.store.fingerprint", lambda: HERE)
    fake_study(monkeypatch, fail=False)
    run_study(None, tmp_path, LocalExecutor(tmp_path))  # type: ignore[arg-type]
    (analysis,) = (tmp_path / "artifacts").glob("analysis-*")
    shutil.copy(analysis / "results.json", tmp_path / "results.json")
    return tmp_path


def _only(run: Path, here: dict = HERE) -> list[str]:
    checked, found = verify_run(run, here)
    assert checked == 3
    return [m.line() for m in found]


def _data(run: Path) -> Path:
    """The artifact folder of stage data/a (whichever way the keys sort)."""
    folders = (run / "artifacts").glob("data-*")
    return next(f for f in folders if '"stage": "data/a"' in (f / "manifest.json").read_text())


def test_an_untouched_run_verifies(run: Path) -> None:
    assert _only(run) == []


def test_a_changed_file_and_an_unlisted_one_are_named(run: Path) -> None:
    folder = _data(run)
    (folder / "stats.json").write_text('{"x": 1}')
    (folder / "extra.txt").write_text("?")
    assert _only(run) == [
        f"artifacts/{folder.name}: extra.txt is not in its manifest",  # the cheap check first
        f"artifacts/{folder.name}: stats.json does not match its sha256",
    ]


def test_edited_params_break_the_key(run: Path) -> None:
    manifest = _data(run) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["params"]["name"] = "edited"
    manifest.write_text(json.dumps(data))
    (line,) = _only(run)  # the manifest no longer matches its own digest: nothing else is read
    assert line == f"artifacts/{_data(run).name}: its manifest does not match its own digest " + (
        "(edited or damaged)"
    )
    data["digest"] = manifest_digest(data)  # edited with its digest recomputed
    manifest.write_text(json.dumps(data))
    (line,) = _only(run)
    assert "its key does not follow from its params" in line and _data(run).name in line


def test_a_missing_input_another_software_and_an_edited_results_file(run: Path) -> None:
    shutil.rmtree(_data(run))
    (run / "results.json").write_text("[]")
    checked, found = verify_run(run, {**HERE, "torch_build": "2.12.0"})
    lines = [m.line() for m in found]
    assert checked == 2
    assert any("its input data/a" in x and "is not in this run folder" in x for x in lines)
    assert sum("written with torch_build 2.13.0+cpu, here 2.12.0" in x for x in lines) == 2
    assert any(x.startswith("results.json: ") and "edited by hand" in x for x in lines)


def test_a_folder_without_artifacts_is_one_error(tmp_path: Path) -> None:
    from loralens.errors import LoralensError

    with pytest.raises(LoralensError, match="not a study run folder"):
        verify_run(tmp_path, HERE)


def test_an_earlier_plans_results_are_named_stale_and_the_report_refuses_them(run: Path) -> None:
    from loralens.report.write import ReportError, provenance
    from loralens.study.store import ArtifactStore
    from loralens.study.units import Stage

    (planned,) = (run / "artifacts").glob("analysis-*")
    assert provenance(run) == f"verified: equal to artifacts/{planned.name}/results.json"
    store = ArtifactStore(run)  # an analysis of an earlier plan, intact and verified
    earlier = Stage("analysis", "analysis", {}, key="earlier")
    (store.begin(earlier, resumable=False) / "results.json").write_text('["stale"]')
    store.commit(earlier, {}, started=0.0)
    shutil.copy(store.path(earlier) / "results.json", run / "results.json")
    checked, found = verify_run(run, HERE)
    assert checked == 4  # the earlier analysis itself is intact; results.json is not current
    (line,) = [m.line() for m in found if m.artifact == "results.json"]
    assert f"is not artifacts/{planned.name}/results.json" in line and "earlier plan" in line
    with pytest.raises(ReportError, match=f"is not artifacts/{planned.name}/results.json"):
        provenance(run)


def test_the_analysis_written_without_a_failed_stage_is_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loralens.report.write import ReportError, provenance

    monkeypatch.setattr("loralens.study.store.fingerprint", lambda: HERE)
    fake_study(monkeypatch, fail=True)  # data/b fails: the analysis runs without it
    run_study(None, tmp_path, LocalExecutor(tmp_path))  # type: ignore[arg-type]
    (analysis,) = (tmp_path / "artifacts").glob("analysis-*")
    shutil.copy(analysis / "results.json", tmp_path / "results.json")
    assert provenance(tmp_path) == f"verified: equal to artifacts/{analysis.name}/results.json"
    (analysis / "results.json").write_text("[]")  # the current analysis corrupted: refused
    with pytest.raises(ReportError, match="does not match its sha256"):
        provenance(tmp_path)
