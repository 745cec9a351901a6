"""The how-to guides' commands, run rather than only parsed (tests/unit/test_docs_commands.py
parses every one): a command of each guide runs as written on a tiny random Llama, with only its
placeholders (a study, a model folder, an output folder) filled in and a tiny budget appended.
The own-task, reproduce and resume guides' commands run in test_guides_cli.py."""

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli
from tests.doc_commands import command_argv, page_commands
from tests.integration.test_study_cli import study_file

pytestmark = pytest.mark.integration

GUIDES = REPO / "docs" / "guides"
# What the quickstart study needs to finish in seconds on the tiny model (appended to a command).
TINY_BUDGET = [
    "task.max_train=48",
    "task.max_val=16",
    "task.max_test=32",
    "model.max_length=32",
    "model.head=fresh",
    "training.max_steps=2",
    "training.eval_steps=1",
    "probing.max_examples=12",
    "probing.snapshot_every=1",
    "study.seeds=[1]",
    "study.baselines=[majority]",
    "serving.batch_sizes=[2]",
    "serving.prompt_length=8",
    "serving.output_length=2",
    "serving.repeats=6",
    "serving.generate_repeats=1",
]


def guide_command(guide: str, start: str, **placeholders: str) -> list[str]:
    """The guide's one command beginning with `loralens START`, its placeholders filled in."""
    found = [c for c in page_commands(GUIDES / guide) if c.startswith(f"loralens {start}")]
    assert len(found) == 1, f"{guide}: {len(found)} commands start with {start!r}"
    return command_argv(found[0], placeholders)


def test_own_model_guide_runs_the_quickstart_on_a_model_folder(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "my-llama"
    argv = guide_command(
        "own-model.md",
        "run quickstart model.name=/models/",
        **{"/models/my-llama": str(tiny_llama_dir), "runs/my-llama": str(out)},
    )
    proc = run_cli(*argv, "serving.engines=[]", *TINY_BUDGET)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["decisions"]["variants"]["full-ft"]["config"]["model"]["name"] == str(
        tiny_llama_dir
    )
    sanity = guide_command("own-model.md", "sanity", **{"/models/my-llama": str(tiny_llama_dir)})
    proc = run_cli(*sanity, *TINY_BUDGET[:5], "--json")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: a check failed, named
    checks = json.loads(proc.stdout)
    assert checks and all("passed" in c for c in checks), checks


def test_paper_guide_shows_the_resolved_design_and_the_machine() -> None:
    for start in ("config paper", "doctor"):
        proc = run_cli(*guide_command("paper-gpu.md", start))
        assert proc.returncode == 0, proc.stderr[-2000:]
    design = run_cli(*guide_command("paper-gpu.md", "config paper")).stdout
    assert "name: paper" in design and "device:" in design


def test_ray_guides_local_workers_run_a_study(tiny_llama_dir: Path, tmp_path: Path) -> None:
    study = study_file(tmp_path, tiny_llama_dir)
    argv = guide_command("ray.md", "run STUDY --workers", STUDY=str(study))
    proc = run_cli(*argv, "--out", str(tmp_path / "run"), "study.seeds=[1]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert {r["base_method"] for r in results["runs"]} == {"full", "lora"}


def test_hpo_guides_smoke_search_runs_on_the_tiny_model(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "hpo-smoke"
    argv = guide_command("hpo.md", "hpo quickstart", **{"runs/hpo-smoke": str(out)})
    proc = run_cli(*argv, f"model.name={tiny_llama_dir}", "model.head=fresh")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (found,) = (out / "hpo" / "rotten_tomatoes").glob("lora-r8.json")
    assert json.loads(found.read_text())["trials"]["finished"] == 2


def test_serving_guides_in_process_benchmark_runs(tiny_llama_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "serve.json"
    argv = guide_command("serving.md", "bench serve --engines merged", **{"serve.json": str(out)})
    tiny = ["serving.prompt_length=8", "serving.output_length=2", "serving.repeats=6"]
    proc = run_cli(*argv, f"model.name={tiny_llama_dir}", *tiny, "serving.generate_repeats=1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert {r["engine"] for r in rows} == {"merged", "fused"}
    assert {r["k_adapters"] for r in rows if r["order"] != "single"} == {2, 8}
