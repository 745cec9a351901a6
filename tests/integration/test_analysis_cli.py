"""`loralens drift`, `sparsity` and `probe` on tiny trained runs (full and LoRA)."""

import json
from pathlib import Path

import pandas as pd
import pytest
from safetensors.torch import load_file

from tests.conftest import run_cli

pytestmark = pytest.mark.integration

TINY = [
    "task.max_train=48",
    "task.max_val=16",
    "task.max_test=32",
    "training.batch_size=16",
    "training.eval_steps=1",
    "training.warmup_ratio=0",  # a warm-up step at rate 0 leaves a checkpoint equal to the base
    "probing.snapshot_every=1",
    "probing.max_examples=16",
]


@pytest.fixture(scope="module")
def runs(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("analysis")
    out = {}
    for method, lr in (("full", "1e-4"), ("lora", "1e-3")):
        out[method] = root / method
        proc = run_cli(
            "train",
            "quickstart",
            f"model.name={tiny_llama_dir}",
            *TINY,
            f"method={method}",
            f"training.learning_rate={lr}",
            "--out",
            str(out[method]),
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_drift_writes_tables_with_controls(runs: dict[str, Path], tmp_path: Path) -> None:
    proc = run_cli(
        "drift",
        str(runs["full"]),
        str(runs["lora"]),
        "--out",
        str(tmp_path),
        "--permutations",
        "20",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summaries = json.loads(proc.stdout)
    assert len(summaries) == 2
    for name in ("full", "lora"):
        frame = pd.read_parquet(tmp_path / name / "drift.parquet")
        assert set(frame["step"]) == {0, 1, 2, 3}
        assert frame.loc[frame.step == 0, "drift"].abs().max() < 1e-9  # step 0 is the base model
        rows = frame[frame.cka_ci_low.notna()]  # every snapshot has its interval now
        assert set(rows.step) == {0, 1, 2, 3}
        assert (rows.cka_ci_low <= rows.cka_debiased + 1e-12).all()
        assert (rows.cka_debiased <= rows.cka_ci_high + 1e-12).all()
        assert (frame.drift - (1 - frame.cka_debiased)).abs().max() < 1e-12
        controls = pd.read_csv(tmp_path / name / "controls.csv").dropna(subset=["self_cka"])
        assert (controls.self_cka - 1).abs().max() < 1e-9
        # The embedding layer's last token is a function of one token id (inputs end in a few
        # tokens), matched by any embedding of them; every deeper layer is above its floor.
        deeper = controls[controls.layer > 0]
        assert len(deeper) == 6 and (deeper.random_init_cka < 0.999).all()
    assert (tmp_path / "full" / "drift.csv").is_file()


def test_drift_without_snapshots_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("{}\n")  # a training run, but without snapshots
    (tmp_path / "snapshots").mkdir()
    proc = run_cli("drift", str(tmp_path))
    assert proc.returncode == 2 and "no snapshots" in proc.stderr and str(tmp_path) in proc.stderr


def test_sparsity_reports_effective_rank_and_intruders(runs: dict[str, Path]) -> None:
    proc = run_cli("sparsity", str(runs["lora"]), str(runs["full"]), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lora, full = json.loads(proc.stdout)
    assert {r["module"].split(".")[-1] for r in lora["rows"]} == {"q_proj", "v_proj"}
    assert len(lora["rows"]) == 4  # 2 layers x q, v
    for row in lora["rows"]:
        assert row["lora_rank"] == 8 and 0 < row["effective_rank"] <= 8
        assert set(row["intruders"]) >= {"0.1", "0.5", "0.9"}
    assert {r["module"] for r in full["rows"]} == {r["module"] for r in lora["rows"]}
    assert all(r["lora_rank"] is None and r["effective_rank"] > 0 for r in full["rows"])


def test_probe_a_run_and_a_base_model(
    runs: dict[str, Path], tiny_llama_dir: Path, tmp_path: Path
) -> None:
    # A run is probed on its own probe set (16 examples, its split settings), not the defaults.
    run_probe = json.loads((runs["lora"] / "data.json").read_text())["probe_sha256"]
    for source, name, n in ((str(runs["lora"]), "run", 16), (str(tiny_llama_dir), "base", 8)):
        out = tmp_path / f"{name}.safetensors"
        proc = run_cli(
            "probe",
            source,
            "--task",
            "rotten_tomatoes",
            "--out",
            str(out),
            "--max-examples",
            "8",
            "--json",
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        info = json.loads(proc.stdout)
        reps = load_file(str(out))
        assert reps["last.layer_2"].shape == (n, 64) and len(reps) == 3 * 3 + 2  # + lengths, sinks
        assert (info["probe_sha256"] == run_probe) is (name == "run")
    wrong = run_cli("probe", str(runs["lora"]), "--task", "mrpc", "--out", str(tmp_path / "x"))
    assert (
        wrong.returncode == 2 and "is a run of task 'rotten_tomatoes', not 'mrpc'" in wrong.stderr
    )
    no_task = run_cli("probe", str(tiny_llama_dir), "--out", str(tmp_path / "y"))
    assert no_task.returncode == 2 and "give --task" in no_task.stderr
