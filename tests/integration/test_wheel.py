"""The built wheel works without the source tree: configs, tasks and a tiny study."""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the loralens wheel (not editable); other packages from this one."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp / "dist"), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = (tmp / "dist").glob("loralens-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    # Dependencies (torch, transformers, ...) come from this environment's site-packages, put on
    # the path after the venv's own: its editable loralens finder (a .pth) is not read there.
    site = Path(sysconfig.get_paths()["purelib"])
    venv_site = next((venv / "lib").glob("python3*/site-packages"))
    (venv_site / "zz-deps.pth").write_text(str(site) + "\n")
    return venv


def _run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    return subprocess.run(
        [str(venv / "bin" / "loralens"), *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=900,
    )  # fmt: skip


def test_the_wheel_is_what_runs(wheel_env: Path, tmp_path: Path) -> None:
    code = "import loralens; print(loralens.__file__)"
    where = subprocess.run(
        [str(wheel_env / "bin" / "python"), "-c", code],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    ).stdout  # fmt: skip
    assert str(wheel_env) in where and str(REPO) not in where


def test_wheel_carries_configs_and_tasks(wheel_env: Path, tmp_path: Path) -> None:
    tasks = _run(wheel_env, "tasks", cwd=tmp_path)
    assert tasks.returncode == 0, tasks.stderr
    for name in ("rotten_tomatoes", "mrpc", "sst2", "rte", "convention_speeches", "squad_v2"):
        assert name in tasks.stdout
    listed = _run(wheel_env, "config", "--list", cwd=tmp_path)
    assert listed.returncode == 0 and str(wheel_env) in listed.stdout
    assert {line.split("\t")[0] for line in listed.stdout.splitlines()} == {
        "generative-cpu",
        "glue-cpu",
        "paper",
        "quickstart",
    }
    quick = _run(wheel_env, "config", "quickstart", cwd=tmp_path)
    assert quick.returncode == 0, quick.stderr
    assert yaml.safe_load(quick.stdout)["name"] == "quickstart"


def test_doctor_reads_the_lock_the_wheel_carries(wheel_env: Path, tmp_path: Path) -> None:
    proc = _run(wheel_env, "doctor", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lock = json.loads(proc.stdout)["lock"]
    assert lock["folder"].startswith(str(wheel_env)) and lock["pins"] > 50


def test_a_tiny_study_runs_from_the_wheel(
    wheel_env: Path, tiny_llama_dir: Path, tmp_path: Path
) -> None:
    study = {
        "name": "wheel",
        "model": {"name": str(tiny_llama_dir), "max_length": 24},
        "task": {"max_train": 32, "max_val": 12, "max_test": 16},
        "training": {"batch_size": 16, "eval_steps": 1, "warmup_ratio": 0.0},
        "probing": {"max_examples": 8, "snapshot_every": 1},
        "study": {"methods": ["full", "lora"], "seeds": [1], "baselines": ["majority"]},
        "serving": {"engines": []},
    }
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    proc = _run(wheel_env, "run", "study.yaml", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert {r["method"] for r in results["runs"]} == {"full", "lora"}
    assert (tmp_path / "run" / "report.html").stat().st_size > 1000
