"""The how-to guides' commands, run as written on a tiny random Llama: your own task from a CSV
file end to end (docs/guides/own-task.md), then status and verify (reproduce.md) and a rerun that
finds everything done (resume.md)."""

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_cli
from tests.integration.test_study_cli import study_file

pytestmark = pytest.mark.integration


def _guide_task(folder: Path) -> Path:
    """The own-task guide's task YAML, beside a CSV of the shape the guide shows."""
    guide = (REPO / "docs" / "guides" / "own-task.md").read_text()
    task = yaml.safe_load(re.search(r"```yaml\n(.*?)```", guide, flags=re.S).group(1))
    words = {"pos": ["a great film", "loved every minute"], "neg": ["a waste of time", "a bore"]}
    rows = [
        f'"{words[label][i % 2]}, scene {i}",{label}'
        for i in range(120)
        for label in (("pos",) if i % 2 else ("neg",))
    ]
    folder.mkdir()
    (folder / "reviews.csv").write_text("review,stars\n" + "\n".join(rows) + "\n")
    (folder / "reviews.yaml").write_text(yaml.safe_dump(task))
    return folder / "reviews.yaml"


def test_own_task_guide_end_to_end_then_status_verify_and_resume(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    task = _guide_task(tmp_path / "my-task")
    study, out = str(study_file(tmp_path, tiny_llama_dir)), str(tmp_path / "runs" / "reviews")
    # overrides after --out, as a new user writes them; one seed keeps it short
    run = ("run", study, "--out", out, f"study.tasks=[{task}]", "study.seeds=[1]")
    proc = run_cli(*run)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((Path(out) / "results.json").read_text())
    assert {r["task"] for r in results["runs"]} == {"reviews"}
    assert (Path(out) / "report.html").is_file()
    for command in ("status", "verify"):
        proc = run_cli(command, out)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    again = run_cli(*run)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 stages run" in again.stdout
