"""`loralens hpo` on a tiny random Llama: searches on val, concurrent workers on one SQLite
storage, tuned values read back from the study's runs, and bad input refused up front."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.integration


LORA_SPACE = {
    "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
    "dropout": {"low": 0.0, "high": 0.2},
    "rank": {"choices": [2, 4]},
    "alpha": {"low": 2, "high": 32},
}


def study_file(tmp: Path, tiny: Path, methods: list[str]) -> Path:
    cfg = {
        "name": "tiny-hpo",
        "model": {"name": str(tiny), "max_length": 32},
        "task": {"name": "rotten_tomatoes", "max_train": 48, "max_val": 16, "max_test": 32},
        "training": {"batch_size": 16, "eval_steps": 1, "eval_batch_size": 32, "max_steps": 3},
        "probing": {"max_examples": 12, "snapshot_every": 3},
        "serving": {"engines": []},
        "study": {"tasks": ["rotten_tomatoes"], "methods": methods, "seeds": [1]},
        "hpo": {"space": {"lora": LORA_SPACE}},
    }
    cfg["study"]["baselines"] = []
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def tuned_study(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A search of 2 trials per method, then the study run with `hpo.use=true`."""
    tmp = tmp_path_factory.mktemp("hpo")
    study, out = study_file(tmp, tiny_llama_dir, ["full", "lora"]), tmp / "out"
    proc = run_cli("hpo", str(study), "--trials", "2", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_cli("run", str(study), "hpo.use=true", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
def test_search_results_name_val_and_the_budget(tuned_study: Path) -> None:
    for method in ("full", "lora"):
        rec = json.loads((tuned_study / "hpo/rotten_tomatoes" / f"{method}.json").read_text())
        assert rec["split"] == "val" and rec["metric"] == "accuracy"
        assert rec["trials"]["finished"] == 2 and rec["sampler"]["startup"] == 1
        assert (tuned_study / "hpo/rotten_tomatoes" / f"{method}-history.png").is_file()
    lora = json.loads((tuned_study / "hpo/rotten_tomatoes/lora.json").read_text())
    assert lora["params"]["rank"] in (2, 4) and 2 <= lora["params"]["alpha"] <= 32
    assert [p["number"] for p in lora["history"]] == [0, 1]
    best = max(p["value"] for p in lora["history"] if p["state"] == "complete")
    assert lora["best_val"] == pytest.approx(best)
    assert lora["importance"] or lora["importance_not_computed"]


# Where each tunable parameter shows in a finished run: the Trainer's saved arguments, or PEFT's
# adapter_config.json (a warmup float below 1 is a ratio in transformers' warmup_steps).
TRAINER_KEYS = {"learning_rate": "learning_rate", "warmup_ratio": "warmup_steps"}
TRAINER_KEYS["weight_decay"] = "weight_decay"
ADAPTER_KEYS = {"rank": "r", "alpha": "lora_alpha", "dropout": "lora_dropout"}


@pytest.mark.slow
def test_every_tuned_value_is_read_back_from_the_runs(tuned_study: Path) -> None:
    results = json.loads((tuned_study / "results.json").read_text())
    tuning = {t["method"]: t for t in results["tuning"]}
    assert set(tuning) == {"full", "lora"}
    checked = set()
    for row in results["runs"]:
        run = tuned_study / row["artifact"]
        tuned = json.loads((tuned_study / tuning[row["method"]]["file"]).read_text())["params"]
        assert tuning[row["method"]]["params"] == pytest.approx(tuned)
        args = json.loads((run / "trainer_args.json").read_text())  # what the Trainer ran with
        adapter_file = run / "adapter/adapter_config.json"
        adapter = json.loads(adapter_file.read_text()) if adapter_file.is_file() else {}
        for name, value in tuned.items():
            saved = (
                args[TRAINER_KEYS[name]] if name in TRAINER_KEYS else adapter[ADAPTER_KEYS[name]]
            )
            assert saved == value, (row["method"], name)
            checked.add(name)
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert config["training"]["learning_rate"] == tuned["learning_rate"]
    assert checked == set(TRAINER_KEYS) | set(ADAPTER_KEYS)
    report = (tuned_study / "report.md").read_text()
    assert "Tuned on val: rotten\\_tomatoes, lora" in report
    # The search's history is drawn into the report from results.json (not copied from hpo/).
    assert [len(t["history"]) for t in results["tuning"]] == [2, 2]
    assert "figures/tuning_history.png" in report
    assert (tuned_study / "figures" / "tuning_history.png").stat().st_size > 1000


@pytest.mark.slow
def test_two_workers_share_one_sqlite_search_and_lose_no_trial(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    study = study_file(tmp_path, tiny_llama_dir, ["lora"])
    db = tmp_path / "shared.db"
    args = ["--trials", "2", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "out")]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loralens",
                "hpo",
                str(study),
                f"hpo.seed={seed}",
                *args,
                "--json",
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    ran = sum(json.loads(out)[0]["trials"]["ran_here"] for out, _ in outputs)
    with sqlite3.connect(db) as con:
        states = [s for (s,) in con.execute("SELECT state FROM trials")]
    assert ran == 4 and len(states) == 4
    assert set(states) <= {"COMPLETE", "PRUNED"}  # none left running or failed


BAD = [
    (["hpo.space.lora.learning_rate={low: 0.1, high: 0.001}"], "low (0.1) is above high (0.001)"),
    (["hpo.space.lora.lr={low: 1e-5, high: 1e-3}"], "unknown search parameter 'lr'"),
    (["--trials", "0"], "'hpo.trials': got 0"),
    (["--storage", "sqlite:////nonexistent-folder/x/optuna.db"], "cannot be opened for writing"),
    (["--storage", "sqlite:///file:/tmp/absent-loralens.db?mode=ro&uri=true"], "for writing"),
]


@pytest.mark.parametrize(("extra", "message"), BAD)
def test_bad_input_is_one_line_and_writes_nothing(
    tiny_llama_dir: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    study = study_file(tmp_path, tiny_llama_dir, ["lora"])
    proc = run_cli("hpo", str(study), *extra, "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("loralens: error:") and message in lines[0]
    assert not (tmp_path / "out").exists()
