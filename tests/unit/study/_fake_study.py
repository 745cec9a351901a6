"""A planned study of fake stages for runner tests: two data stages and a tolerant analysis."""

import dataclasses
import json
from pathlib import Path

import pytest

from loralens.study.plan import with_keys
from loralens.study.stages import STAGE_KINDS
from loralens.study.units import Stage


def fake_study(monkeypatch: pytest.MonkeyPatch, fail: bool) -> None:
    """A planned study of two data stages and a tolerant analysis; data/b fails if `fail`."""

    def data(params: dict, inputs: dict, out: Path) -> None:
        if fail and params["name"] == "b":
            raise RuntimeError("boom")
        (out / "stats.json").write_text("{}")

    def analysis(params: dict, inputs: dict, out: Path) -> None:
        (out / "results.json").write_text(json.dumps(sorted(inputs)))

    plan = [Stage(f"data/{n}", "data", {"name": n}) for n in ("a", "b")]
    plan.append(Stage("analysis", "analysis", {}, deps=("data/a", "data/b"), tolerant=True))
    monkeypatch.setattr("loralens.study.runner.plan_study", lambda cfg: with_keys(plan))
    monkeypatch.setattr("loralens.study.runner.config_to_yaml", lambda cfg: "name: fake\n")
    monkeypatch.setattr("loralens.study.runner.publish", lambda *a: None)
    patch_kind(monkeypatch, "data", run=data)
    patch_kind(monkeypatch, "analysis", run=analysis)


def patch_kind(monkeypatch: pytest.MonkeyPatch, name: str, **changes: object) -> None:
    """Replace fields of a registered stage kind (its function, outputs...) for one test."""
    monkeypatch.setitem(STAGE_KINDS, name, dataclasses.replace(STAGE_KINDS[name], **changes))
