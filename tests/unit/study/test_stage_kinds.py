"""A stage kind is one registration: planned per run, run, committed and read by the analysis
with no edit outside its `StageKind` and its function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loralens.config import load_config
from loralens.results.collect import Collected, collect
from loralens.study.plan import check_reads, plan_study
from loralens.study.runner import execute_stage
from loralens.study.stages import STAGE_KINDS, StageKind, stage_kind, upstream
from loralens.study.units import RunContext, Stage
from tests.unit.study._fake_study import patch_kind

TINY = ["study.seeds=[1, 2]", "study.baselines=[]", "serving.engines=[]"]


def _norm(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """A new kind's function: reads its run by kind, never by stage id."""
    (run,) = upstream(inputs, "train")
    (out / "norm.json").write_text(json.dumps({"run": run.name, "scale": params["scale"]}))


def _read_norm(sid: str, path: Path, cell: dict, out: Collected) -> None:
    out["norm"].append((cell["variant"], json.loads((path / "norm.json").read_text())))


def _plan_norm(ctx: RunContext) -> Stage:
    return ctx.stage("norm", {"scale": ctx.run.training.learning_rate}, deps=(ctx.train_id,))


@pytest.fixture
def norm_kind(monkeypatch: pytest.MonkeyPatch) -> StageKind:
    kind = StageKind(
        "norm", _norm, ("norm.json",), read=_read_norm, reads=("train",), per_run=_plan_norm
    )
    monkeypatch.setitem(STAGE_KINDS, "norm", kind)
    return kind


def test_a_new_per_run_kind_is_planned_for_every_run_and_read_by_the_analysis(norm_kind) -> None:
    stages = {s.id: s for s in plan_study(load_config(None, TINY))}
    trains = sorted(sid for sid, s in stages.items() if s.kind == "train")
    norms = sorted(sid for sid, s in stages.items() if s.kind == "norm")
    assert len(norms) == len(trains) == 4  # two variants x two seeds
    for sid in norms:
        assert stages[sid].deps == ("train/" + sid.removeprefix("norm/"),)
        assert stages[sid].key and stages[sid].cell is not None
    assert set(norms) <= set(stages["analysis"].deps)  # it has a reader: the analysis reads it
    assert len({stages[sid].key for sid in norms}) == 4


def test_without_the_kind_nothing_of_it_is_planned() -> None:
    assert not [s for s in plan_study(load_config(None, TINY)) if s.kind == "norm"]


def test_a_dependency_the_registration_does_not_declare_is_refused(norm_kind, monkeypatch):
    patch_kind(monkeypatch, "norm", reads=())
    with pytest.raises(ValueError, match=r"norm/.* \(norm\) depends on train: its kind's"):
        plan_study(load_config(None, TINY))
    ok = [Stage("train/t/a/1", "train", {}), Stage("norm/t/a/1", "norm", {}, ("train/t/a/1",))]
    patch_kind(monkeypatch, "norm", reads=("train",))
    check_reads(ok)


def test_the_new_kind_runs_commits_and_is_read_through_its_registration(
    norm_kind, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_kind(monkeypatch, "train", run=lambda p, i, out: None, outputs=())
    train = Stage("train/t/lora/1", "train", {}, key="k-train")
    train_dir = execute_stage(str(tmp_path), train, {})  # a committed train artifact
    norm = Stage("norm/t/lora/1", "norm", {"scale": 2.0}, deps=(train.id,), key="k-norm")
    norm_dir = Path(execute_stage(str(tmp_path), norm, {train.id: train_dir}))
    manifest = json.loads((norm_dir / "manifest.json").read_text())
    assert manifest["kind"] == "norm" and "norm.json" in manifest["files"]
    cell = {"kind": "norm", "task": "t", "variant": "lora", "seed": 1}
    got = collect({norm.id: norm_dir}, {norm.id: cell})
    assert got["norm"] == [("lora", {"run": Path(train_dir).name, "scale": 2.0})]
    assert stage_kind("norm") is norm_kind


def test_an_input_under_another_kinds_name_is_not_read_as_that_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stage reads its inputs by what their manifests say they are, not by stage id: a
    # control artifact passed under a train stage's id is not taken for the run.
    patch_kind(monkeypatch, "control", run=lambda p, i, out: None, outputs=())
    control = Stage("control/t", "control", {}, key="k-control")
    control_dir = Path(execute_stage(str(tmp_path), control, {}))
    assert upstream({"train/t/lora/1": control_dir}, "train") == []
    assert upstream({"train/t/lora/1": control_dir}, "control") == [control_dir]
