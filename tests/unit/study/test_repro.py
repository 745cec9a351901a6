"""`loralens repro`'s comparison: identical bytes, measurements set aside, real differences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loralens.errors import LoralensError
from loralens.study import repro


def _run(root: Path, files: dict[str, object], results: object | None = None) -> Path:
    """A run folder with one artifact holding `files` (JSON or bytes) and its manifest."""
    folder = root / "artifacts" / "train-abc"
    folder.mkdir(parents=True)
    for name, content in files.items():
        data = content if isinstance(content, bytes) else json.dumps(content).encode()
        (folder / name).write_bytes(data)
    listed = {name: f"sha-of-{name}-{root.name}" for name in files}  # differs per run
    manifest = {"kind": "train", "key": "abc", "files": listed, "started": root.name}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    if results is not None:
        (root / "results.json").write_text(json.dumps(results))
    return root


def _compare(tmp: Path, one: dict, two: dict, **results: object) -> dict[str, repro.FileMatch]:
    a = _run(tmp / "run-1", one, results.get("a"))
    b = _run(tmp / "run-2", two, results.get("b"))
    return {m.path: m for m in repro.compare_runs([a, b])}


def test_identical_files_and_manifests_differing_only_in_hashes_and_times(tmp_path):
    found = _compare(tmp_path, {"w.bin": b"\x00\x01"}, {"w.bin": b"\x00\x01"})
    assert found["artifacts/train-abc/w.bin"].status == repro.IDENTICAL
    manifest = found["artifacts/train-abc/manifest.json"]
    assert manifest.status == repro.MEASURED and "started" in manifest.detail


def test_measured_keys_are_set_aside_with_their_spread(tmp_path):
    one = {"metrics.json": {"test": {"accuracy": 0.7}, "wall_time_s": 10.0}}
    two = {"metrics.json": {"test": {"accuracy": 0.7}, "wall_time_s": 12.0}}
    match = _compare(tmp_path, one, two)["artifacts/train-abc/metrics.json"]
    assert match.status == repro.MEASURED
    assert match.detail == "wall_time_s 10–12 (±9.1%)"


def test_serving_paired_timings_warmup_and_noise_floor_are_measurements(tmp_path):
    def serving(hl: float, spread: float, calls: int) -> dict:
        row = {"engine": "peft", "paired_ratio": {"hodges_lehmann": hl, "pairs": 20}}
        row["warmup"] = {"calls": calls, "stable": True}
        floor = [{"workload": "forward", "relative_spread": spread}]
        return {"serving.json": {"rows": [row], "noise_floor": floor, "adapters": ["a"]}}

    match = _compare(tmp_path, serving(1.1, 0.03, 4), serving(1.2, 0.02, 6))
    assert match["artifacts/train-abc/serving.json"].status == repro.MEASURED
    other = serving(1.1, 0.03, 4)
    other["serving.json"]["adapters"] = ["b"]  # not a timing: still compared
    match = _compare(tmp_path / "x", serving(1.1, 0.03, 4), other)
    assert match["artifacts/train-abc/serving.json"].status == repro.DIFFERS


def test_a_result_that_differs_is_named_where_it_differs(tmp_path):
    one = {"metrics.json": {"test": {"accuracy": 0.7}, "wall_time_s": 10.0}}
    two = {"metrics.json": {"test": {"accuracy": 0.71}, "wall_time_s": 10.0}}
    found = _compare(tmp_path, one, two)
    match = found["artifacts/train-abc/metrics.json"]
    assert match.status == repro.DIFFERS and match.detail == "test.accuracy: 0.7 vs 0.71"
    assert repro.failed(list(found.values()))


def test_list_order_is_a_difference_and_bytes_name_their_offset(tmp_path):
    one = {"adapter_config.json": {"target_modules": ["q_proj", "v_proj"]}, "s.bin": b"abcd"}
    two = {"adapter_config.json": {"target_modules": ["v_proj", "q_proj"]}, "s.bin": b"abXd"}
    found = _compare(tmp_path, one, two)
    assert found["artifacts/train-abc/adapter_config.json"].status == repro.DIFFERS
    assert found["artifacts/train-abc/s.bin"].detail == "bytes differ from offset 2 (4 bytes)"


def test_a_file_of_one_run_only_is_missing(tmp_path):
    found = _compare(tmp_path, {"a.json": {}, "b.json": {}}, {"a.json": {}})
    assert found["artifacts/train-abc/b.json"].status == repro.MISSING
    assert found["artifacts/train-abc/b.json"].detail == "not in run 2"


def test_results_serving_parts_are_measurements_and_the_rest_is_compared(tmp_path):
    def results(overhead: float, acc: float) -> dict:
        serving = {"name": "Serving (two adapters cost little extra)", "estimate": overhead}
        accuracy = {"name": "Performance", "estimate": acc}
        h = {"name": "H", "p_value": overhead, "status": "x", "components": [accuracy, serving]}
        return {"serving": [{"k": overhead}], "serving_verdicts": [serving], "hypotheses": [h]}

    found = _compare(tmp_path, {}, {}, a=results(0.1, 0.5), b=results(0.2, 0.5))
    assert found["results.json"].status == repro.MEASURED
    found = _compare(tmp_path / "x", {}, {}, a=results(0.1, 0.5), b=results(0.1, 0.6))
    assert found["results.json"].status == repro.DIFFERS
    assert found["results.json"].detail.startswith("hypotheses[0].components[0].estimate")


def test_repeat_below_two_and_used_folders_are_refused(tmp_path):
    with pytest.raises(LoralensError, match="--repeat must be at least 2 \\(got 1\\)"):
        repro.run_folders(tmp_path, 1)
    (tmp_path / "run-2").mkdir()
    (tmp_path / "run-2" / "results.json").write_text("{}")
    with pytest.raises(LoralensError, match="run-2 already hold a run"):
        repro.run_folders(tmp_path, 2)
    assert repro.run_folders(tmp_path / "new", 3)[-1] == tmp_path / "new" / "run-3"


def test_a_repeat_refused_before_work_points_to_its_error_not_to_missing_logs(
    tmp_path, monkeypatch
):
    import subprocess

    refused = subprocess.CompletedProcess([], 2)
    monkeypatch.setattr("loralens.study.repro.subprocess.run", lambda *a, **k: refused)
    folders = repro.run_folders(tmp_path, 2)
    with pytest.raises(LoralensError) as info:
        repro.run_repeats(["bad.key=1"], folders)
    expected = "repeat 1 did not finish (exit 2; its error is above); nothing compared"
    assert str(info.value) == expected
    (folders[0] / "logs").mkdir(parents=True)  # a run that failed in a stage: its logs named
    with pytest.raises(LoralensError, match=f"its stage logs: {folders[0] / 'logs'}"):
        repro.run_repeats([], folders)
