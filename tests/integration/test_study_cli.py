"""`loralens run` and `status` on a tiny random Llama: caching, SIGKILL resume, failures, Ray."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_cli, tiny_serving

pytestmark = pytest.mark.integration

# Measured fields: equal results.json means equal after dropping these (timings, memory, paths).
VOLATILE = {
    "wall_time_s",
    "train_runtime_s",
    "train_tokens_per_s",
    "peak_rss_mb",
    "peak_gpu_mb",
    "serving",
    "hypotheses",
    "serving_verdicts",  # tested from the serving timings
    "started",
    "finished",
    "compute_time_s",
    "environment",
}


def study_file(tmp: Path, tiny: Path, **extra: object) -> Path:
    cfg = {
        "name": "tiny",
        # a fresh head: the random Llama's label-word rows decide nearly every input alike, and
        # the statistics below need runs that differ
        "model": {"name": str(tiny), "max_length": 32, "head": "fresh"},
        "task": {"name": "rotten_tomatoes", "max_train": 48, "max_val": 16, "max_test": 32},
        "training": {"batch_size": 16, "eval_steps": 1, "eval_batch_size": 32},
        "probing": {"max_examples": 12, "snapshot_every": 1},
        "study": {
            "tasks": ["rotten_tomatoes"],
            "methods": ["full-ft", "lora-r4"],
            "seeds": [1, 2],
            "baselines": ["majority", "random"],
            "variants": {
                "full-ft": {"method": "full", "training": {"learning_rate": 1e-4}},
                "lora-r4": {"method": "lora", "lora": {"rank": 4}},
            },
        },
        "serving": tiny_serving(["merged", "peft-mixed", "fused"], repeats=3),
        **extra,
    }
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def stable(results: dict) -> dict:
    """results.json without measured timings."""

    def strip(x: object) -> object:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in VOLATILE}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    return strip(results)


@pytest.fixture(scope="module")
def finished(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("study")
    proc = run_cli("run", str(study_file(tmp, tiny_llama_dir)), "--out", str(tmp / "run"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp / "run"


def test_study_writes_results_and_report(finished: Path) -> None:
    results = json.loads((finished / "results.json").read_text())
    assert len(results["runs"]) == 4
    assert {b["name"] for b in results["baselines"]} == {"majority", "random"}
    assert {r["method"] for r in results["drift"]["summary"]} == {"full-ft", "lora-r4"}
    assert all(
        abs(c["self_cka"] - 1) < 1e-9 for c in results["drift"]["controls"] if "self_cka" in c
    )
    assert results["sparsity"]["rows"] and results["hypotheses"]
    (serving,) = results["serving"]  # one task: one group of adapters
    assert serving["group"]["tasks"] == ["rotten_tomatoes"]
    assert {r["engine"] for r in serving["rows"]} == {"merged", "peft-mixed", "fused"}
    assert all(c["passed"] for c in serving["correctness"])
    serving_part = results["hypotheses"][0]["components"][2]
    assert "serving" in serving_part["name"].lower() and serving_part["n_seeds"]
    assert results["statistics"]["accuracy"][0]["welch"]["n"] == [2, 2]
    for name in ("report.html", "report.md", "tables.tex"):
        assert (finished / name).stat().st_size > 500


def test_each_variants_seeds_are_compared_with_each_other_beside_the_base(finished: Path) -> None:
    results = json.loads((finished / "results.json").read_text())
    pairs = results["drift"]["seed_pairs"]
    assert {p["method"] for p in pairs} == {"full-ft", "lora-r4"}
    assert all(p["seeds"] == [1, 2] and p["layers"] >= 2 for p in pairs)
    # the two seeds start at one base model: 0 apart at step 0, apart once they trained
    last = max(p["step"] for p in pairs)
    assert max(abs(p["mean_drift"]) for p in pairs if p["step"] == 0) < 1e-9
    assert min(p["mean_drift"] for p in pairs if p["step"] == last) > 0
    drift = results["decisions"]["drift"]
    step = drift["step"]["rotten_tomatoes"]
    reference = drift["seed_reference"]["rotten_tomatoes"]
    assert {r["method"] for r in reference} == {"full-ft", "lora-r4"}
    assert all(r["step"] == step and r["pairs"] == 1 and r["from_base"] > 0 for r in reference)
    drift_part = results["hypotheses"][0]["components"][1]
    assert f"seed to seed at step {step}: lora-r4 " in drift_part["sentence"], drift_part


def test_second_invocation_is_all_cached(finished: Path) -> None:
    before = (finished / "results.json").read_text()
    proc = run_cli("run", str(finished.parent / "study.yaml"), "--out", str(finished))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "0 stages run" in proc.stdout
    assert (finished / "results.json").read_text() == before


def test_status_lists_every_stage_done(finished: Path) -> None:
    proc = run_cli("status", str(finished), "--json")
    records = json.loads(proc.stdout)
    assert proc.returncode == 0 and {r["state"] for r in records} == {"done"}
    assert len(records) == len(json.loads((finished / "plan.json").read_text()))
    assert all(r["seconds"] > 0 for r in records)
    table = run_cli("status", str(finished)).stdout
    totals = table.splitlines()[-1]
    assert totals.startswith("compute seconds by stage group: ") and "train " in totals


def test_corrupted_artifact_is_recomputed_not_read(finished: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished), str(copy)], check=True)
    metrics = next(copy.glob("artifacts/train-*/metrics.json"))
    metrics.write_text(metrics.read_text().replace('"accuracy"', '"accuracy" ', 1))
    check = run_cli("verify", str(copy))  # names the changed file, and only it
    assert check.returncode == 1, check.stderr[-2000:]
    assert check.stdout.splitlines()[:-1] == [
        f"artifacts/{metrics.parent.name}: metrics.json does not match its sha256"
    ]
    proc = run_cli("run", str(finished.parent / "study.yaml"), "--out", str(copy))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "0 stages run" not in proc.stdout
    assert run_cli("verify", str(copy)).returncode == 0  # recomputed: every artifact matches
    assert stable(json.loads((copy / "results.json").read_text())) == stable(
        json.loads((finished / "results.json").read_text())
    )


def _train_folder(run: Path, stage_id: str) -> Path:
    """The artifact folder the plan names for a stage."""
    (key,) = [s["key"] for s in json.loads((run / "plan.json").read_text()) if s["id"] == stage_id]
    return run / "artifacts" / f"train-{key}"


def test_swapped_training_folders_are_recomputed_never_read_under_the_wrong_name(
    finished: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished), str(copy)], check=True)
    full = _train_folder(copy, "train/rotten_tomatoes/full-ft/1")
    lora = _train_folder(copy, "train/rotten_tomatoes/lora-r4/1")
    full.rename(tmp_path / "held")
    lora.rename(full)
    (tmp_path / "held").rename(lora)
    status = run_cli("status", str(copy), "--json")
    states = {r["id"]: r for r in json.loads(status.stdout)}
    assert status.returncode == 1
    for sid, folder, holds in (("full-ft/1", full, lora), ("lora-r4/1", lora, full)):
        record = states[f"train/rotten_tomatoes/{sid}"]
        assert record["state"] == "corrupted"
        assert f"holds {holds.name} (its manifest says so), not {folder.name}" in record["error"]
    proc = run_cli("run", str(finished.parent / "study.yaml"), "--out", str(copy))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "2 stages run" in proc.stdout  # the two runs; what read them was computed before
    assert run_cli("verify", str(copy)).returncode == 0
    assert stable(json.loads((copy / "results.json").read_text())) == stable(
        json.loads((finished / "results.json").read_text())
    )


def test_an_earlier_plans_results_json_is_named_by_verify_and_refused_by_report(
    finished: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished), str(copy)], check=True)
    study = str(finished.parent / "study.yaml")
    earlier = run_cli("run", study, "report.alpha=0.1", "--out", str(copy))  # another analysis
    assert earlier.returncode == 0, earlier.stderr[-2000:]
    stale = (copy / "results.json").read_bytes()
    assert run_cli("run", study, "--out", str(copy)).returncode == 0  # back to the first plan
    (copy / "results.json").write_bytes(stale)
    check = run_cli("verify", str(copy))
    assert check.returncode == 1
    (line,) = check.stdout.splitlines()[:-1]
    assert line.startswith("results.json: ") and "the current plan names" in line
    report = run_cli("report", str(copy))
    assert report.returncode == 2 and "an earlier plan's" in report.stderr


def test_sigkill_mid_study_then_resume_gives_the_same_results(
    finished: Path, tiny_llama_dir: Path, tmp_path: Path
) -> None:
    study = study_file(tmp_path, tiny_llama_dir)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "loralens", "run", str(study), "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while len(list((out / "artifacts").glob("train-*"))) < 2:  # killed mid-study
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = run_cli("run", str(study), "--out", str(out))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    got = json.loads((out / "results.json").read_text())
    want = json.loads((finished / "results.json").read_text())
    assert stable(got) == stable(want)
    # the accuracy and drift parts of the verdict are exact; serving is a measurement
    parts = [[c["estimate"] for c in h["components"][:2]] for h in got["hypotheses"]]
    assert parts == [[c["estimate"] for c in h["components"][:2]] for h in want["hypotheses"]]


def artifact_names(run: Path) -> list[str]:
    """The committed artifacts of a run folder (kind-key), and any leftovers (dot names)."""
    return sorted(p.name for p in (run / "artifacts").iterdir())


def test_two_concurrent_runs_on_one_folder_one_runs_the_other_exits_2_naming_it(
    finished: Path, tiny_llama_dir: Path, tmp_path: Path
) -> None:
    study = study_file(tmp_path, tiny_llama_dir)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "loralens", "run", str(study), "--out", str(out)]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    procs = [subprocess.Popen(cmd, cwd=REPO, **pipes) for _ in range(2)]  # started together
    outputs = [p.communicate(timeout=1800) for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 2], [e[-2000:] for _, e in outputs]
    loser = next(i for i, p in enumerate(procs) if p.returncode == 2)
    holder = procs[1 - loser].pid
    err = outputs[loser][1].strip()
    assert err == err.splitlines()[-1] and "Traceback" not in err  # one line
    assert err.startswith(
        f"loralens: error: {out} is in use by another loralens run (pid {holder} "
    )
    assert artifact_names(out) == artifact_names(finished)  # same keys, no partial or failure
    got = json.loads((out / "results.json").read_text())
    assert stable(got) == stable(json.loads((finished / "results.json").read_text()))


def test_failed_stage_is_named_others_finish_and_rerun_retries(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    # lora targets that the model lacks: both LoRA runs fail, full runs and baselines finish.
    study = study_file(tmp_path, tiny_llama_dir)
    cfg = yaml.safe_load(study.read_text())
    cfg["study"]["variants"]["lora-r4"]["lora"]["targets"] = ["nonexistent_proj"]
    study.write_text(yaml.safe_dump(cfg))
    proc = run_cli("run", str(study), "--out", str(tmp_path / "run"))
    assert proc.returncode == 1
    assert "failed" in proc.stderr and "train/rotten_tomatoes/lora-r4/" in proc.stderr
    assert "nonexistent_proj" in proc.stderr and ".log" in proc.stderr
    status = json.loads(run_cli("status", str(tmp_path / "run"), "--json").stdout)
    states = {r["id"]: r["state"] for r in status}
    assert states["train/rotten_tomatoes/full-ft/1"] == "done"
    assert states["baselines/rotten_tomatoes"] == "done"
    assert states["train/rotten_tomatoes/lora-r4/1"] == "failed"
    assert states["analysis"] == "degraded"  # written without the LoRA runs: not "done"
    again = run_cli("run", str(study), "--out", str(tmp_path / "run"))
    assert again.returncode == 1 and "stages run" not in again.stdout


def test_unknown_method_in_study_stops_before_work(tmp_path: Path) -> None:
    study = tmp_path / "bad.yaml"
    study.write_text("study:\n  methods: [full, lorra]\n")
    proc = run_cli("run", str(study), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2 and "did you mean 'lora'" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_unwritable_output_directory(tmp_path: Path, tiny_llama_dir: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = run_cli("run", str(study_file(tmp_path, tiny_llama_dir)), "--out", str(blocker / "run"))
    assert proc.returncode == 2 and "cannot write to the output directory" in proc.stderr


@pytest.mark.slow
def test_ray_executor_gives_the_same_results(
    finished: Path, tiny_llama_dir: Path, tmp_path: Path
) -> None:
    study = study_file(tmp_path, tiny_llama_dir)
    proc = run_cli(  # Ray's workers and its init live in a process of their own
        "run", str(study), "--out", str(tmp_path / "run"), "--executor", "ray", process=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert stable(json.loads((tmp_path / "run" / "results.json").read_text())) == stable(
        json.loads((finished / "results.json").read_text())
    )
