"""The real CLI: tasks, models, data stats, doctor, config; bad input exits non-zero."""

from pathlib import Path

import pytest

from tests.conftest import run_cli, run_cli_json

pytestmark = pytest.mark.integration


def test_data_stats_mrpc_from_local_glue(glue_dir: Path) -> None:
    stats = run_cli_json("data", "stats", "mrpc", "--data-dir", str(glue_dir))
    assert stats["splits"]["test"]["size"] == 408
    assert stats["splits"]["test"]["labels"] == {"not_equivalent": 129, "equivalent": 279}
    quantiles = stats["splits"]["train"]["token_length"]
    assert 0 < quantiles["p50"] <= quantiles["p95"] <= quantiles["p100"]
    assert len(stats["examples"]) == 3


def test_data_stats_rotten_tomatoes_offline() -> None:
    stats = run_cli_json("data", "stats", "rotten_tomatoes", "--model", "none")
    sizes = {k: v["size"] for k, v in stats["splits"].items()}
    assert sum(sizes.values()) + stats["duplicates_removed"] == 12808
    assert stats["duplicates_removed"] > 0


def test_tasks_and_models_list() -> None:
    tasks = run_cli_json("tasks")
    assert {"rotten_tomatoes", "mrpc", "sst2", "rte"} <= set(tasks)
    models = {m["name"] for m in run_cli_json("models")}
    assert {"smollm2-135m", "minilm-l6"} <= models


def test_doctor_fingerprint() -> None:
    fp = run_cli_json("doctor")
    assert fp["packages"]["torch"].startswith("2.13")
    assert fp["python"].startswith("3.")
    assert "cuda_available" in fp


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "stats", "mrcp"], "did you mean 'mrpc'"),
        (["data", "stats", "mrpc", "--data-dir", "/nonexistent"], "MRPC/train.tsv"),
        (["config", "quickstart", "training.learning_rate=0"], "training.learning_rate"),
        (["config", "quickstart", "traning.seed=1"], "did you mean 'training'"),
    ],
)
def test_bad_input_is_one_clear_line_and_nonzero_exit(args: list[str], message: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_config_prints_resolved_yaml() -> None:
    proc = run_cli("config", "quickstart", "lora.rank=4")
    assert proc.returncode == 0
    assert "rank: 4" in proc.stdout
    assert "name: smollm2-135m" in proc.stdout


def test_the_module_entry_point_exits_with_mains_status() -> None:
    proc = run_cli("data", "stats", "mrcp", process=True)  # `python -m loralens` in a process
    assert proc.returncode == 2
    assert "did you mean 'mrpc'" in proc.stderr and "Traceback" not in proc.stderr
