"""`loralens repro` on a tiny random Llama: two runs of one study, every non-measurement file
bit-identical on CPU; `verify` passes on both and names a flipped byte."""

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli
from tests.integration.test_study_cli import study_file

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def repro(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("repro")
    study = study_file(tmp, tiny_llama_dir)
    cfg = yaml.safe_load(study.read_text())
    cfg["study"]["seeds"] = [1]  # full-ft and LoRA, one seed: every stage kind, half the time
    cfg["serving"]["engines"] = ["merged", "peft-mixed"]
    study.write_text(yaml.safe_dump(cfg))
    # repro runs each repeat as a process of its own, its output passed through to stderr's file
    out = str(tmp / "out")
    proc = run_cli("repro", str(study), "--repeat", "2", "--out", out, "--json", process=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return tmp / "out", json.loads(proc.stdout)


def test_every_non_measurement_file_is_bit_identical(repro: tuple[Path, dict]) -> None:
    out, record = repro
    assert record["summary"]["differs"] == 0 and record["summary"]["missing"] == 0
    status = {f["path"]: f["status"] for f in record["files"]}
    weights = [p for p in status if p.endswith(".safetensors")]
    assert weights and all(status[p] == "identical" for p in weights)  # snapshots, adapters
    configs = [p for p in status if p.endswith("adapter_config.json")]
    assert configs and all(status[p] == "identical" for p in configs)
    for kind in ("drift.json", "sparsity.json", "baselines.json", "predictions.jsonl"):
        found = [p for p in status if p.endswith(kind)]
        assert found and all(status[p] == "identical" for p in found), kind
    # Timings are named as measurements, with their spread; never silently equal.
    serving = next(f for f in record["files"] if f["path"].endswith("serving.json"))
    assert serving["status"] in ("identical", "measurements differ")
    assert json.loads((out / "repro.json").read_text()) == record


def test_verify_passes_on_both_runs_and_names_a_flipped_byte(repro: tuple[Path, dict]) -> None:
    out, _ = repro
    for run in ("run-1", "run-2"):
        proc = run_cli("verify", str(out / run))
        assert proc.returncode == 0, proc.stdout[-2000:]
    weights = next((out / "run-2").glob("artifacts/train-*/snapshots/step_*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    proc = run_cli("verify", str(out / "run-2"))
    assert proc.returncode == 1
    rel = weights.relative_to(weights.parents[2])
    assert f"{rel.parts[0]}: {'/'.join(rel.parts[1:])} does not match its sha256" in proc.stdout


def test_repeat_one_is_one_clear_line(tmp_path: Path) -> None:
    proc = run_cli("repro", "--repeat", "1", "--out", str(tmp_path / "out"))
    assert proc.returncode != 0
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .endswith("--repeat must be at least 2 (got 1): one run has nothing to compare with")
    )
    assert not (tmp_path / "out").exists()
