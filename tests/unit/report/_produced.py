"""Results built by the real producer: stage artifacts fabricated in a folder, then
`loralens.results.build.build_results` over them, as the analysis stage of `loralens run` does.

The numbers come from the synthetic study (`_synthetic`); what the producer decides and computes
from them (statistics, variants, decisions, verdicts, the drift and serving assembly) is its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loralens.config import RunConfig
from loralens.drift.tables import summarize
from loralens.results.build import build_results
from loralens.training.folder import TrainingRun

IDENT = ("task", "method", "seed", "artifact")
EXAMPLES = 1000  # test examples per run: predictions for McNemar and the crossed test


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _without(record: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in keys}


def _predictions(accuracy: float, seed: int) -> list[dict[str, Any]]:
    """Test records scoring `accuracy`: labels alternate, the first correct ones rotate by seed."""
    right = round(accuracy * EXAMPLES)
    out = []
    for i in range(EXAMPLES):
        label = i % 2
        correct = (i + seed) % EXAMPLES < right
        out.append({"index": i, "label": label, "pred": label if correct else 1 - label})
    return out


class Study:
    """Artifact folders of one fabricated study, and the cells the analysis is told about."""

    def __init__(self, root: Path) -> None:
        self.root = root / "artifacts"
        self.inputs: dict[str, Path] = {}
        self.cells: dict[str, dict[str, Any]] = {}

    def stage(
        self,
        kind: str,
        task: str | None,
        variant: str | None = None,
        seed: Any = None,
        sid: str = "",
    ) -> Path:
        """A new artifact folder for one stage."""
        sid = sid or "/".join(str(p) for p in (kind, task, variant, seed) if p is not None)
        path = self.root / f"{kind}-{len(self.inputs):03d}"
        path.mkdir(parents=True)
        self.inputs[sid] = path
        self.cells[sid] = {"kind": kind, "task": task, "variant": variant, "seed": seed}
        return path


def _train(study: Study, run: dict[str, Any], val: list[dict], ranks: dict | None) -> None:
    """A finished training run: metrics.json, predictions, the val log, AdaLoRA's ranks."""
    folder = TrainingRun(study.stage("train", run["task"], run["method"], run["seed"]))
    recorded = ("artifact", "base_method", "learning_rate", "head")  # config.yaml, data.json
    metrics = {**_without(run, recorded), "method": run["base_method"]}
    predictions = _predictions(run["test"]["accuracy"], run["seed"])
    # A run's test accuracy is its predictions' (the crossed test checks they agree).
    correct = [p["pred"] == p["label"] for p in predictions]
    metrics["test"] = {**metrics["test"], "accuracy": sum(correct) / EXAMPLES}
    config = RunConfig().model_dump(mode="json")
    config["training"]["learning_rate"] = run.get("learning_rate") or 1e-4
    folder.write_config(RunConfig.model_validate(config))
    folder.write_json(TrainingRun.DATA, {"head": {"mode": run.get("head")}})
    folder.write_json(TrainingRun.METRICS, metrics)
    folder.write_predictions(predictions)
    folder.write_json(TrainingRun.LOG, {"train": [], "val": val})
    if ranks is not None:
        folder.write_json(TrainingRun.RANK_PATTERN, ranks)


def _val_log(results: dict[str, Any], run: dict[str, Any]) -> list[dict[str, Any]]:
    """The Trainer's val evaluations at each snapshot step (the drift summary's val score)."""
    return [
        {"step": s["step"], "eval_accuracy": s["val_score"]}
        for s in results["drift"]["summary"]
        if (s["task"], s["method"], s["seed"]) == (run["task"], run["method"], run["seed"])
        and not s["selected"]
        and s["val_score"] is not None
    ]


def _per_run(rows: list[dict], run: dict[str, Any]) -> list[dict]:
    """The rows of one run, without the identity the analysis adds."""
    key = (run["task"], run["method"], run["seed"])
    return [
        _without(r, (*IDENT, "val_score"))
        for r in rows
        if (r["task"], r["method"], r["seed"]) == key
    ]


def _ranks(results: dict[str, Any], run: dict[str, Any]) -> dict[str, int] | None:
    """AdaLoRA's final rank pattern of one run (None for other methods)."""
    key = (run["task"], run["method"], run["seed"])
    rows = [
        r
        for r in results["variants"]["adalora_ranks"]
        if (r["task"], r["method"], r["seed"]) == key
    ]
    return {r["module"]: r["rank"] for r in rows} or None


def _drift(study: Study, results: dict[str, Any], run: dict[str, Any]) -> None:
    """drift.json of one run: its rows, their summary, the task's controls, the probe hash."""
    drift = results["drift"]
    rows = _per_run(drift["rows"], run)
    if not rows:
        return
    controls = [_without(c, ("task",)) for c in drift["controls"] if c["task"] == run["task"]]
    data = {
        "run": str(study.root),
        "rows": rows,
        "controls": controls,
        "summary": summarize(rows, controls),  # as `loralens drift` summarizes its rows
        "probe_sha256": "ab" * 32,
    }
    _write(study.stage("drift", run["task"], run["method"], run["seed"]) / "drift.json", data)


def _sparsity(study: Study, results: dict[str, Any], run: dict[str, Any]) -> None:
    """sparsity.json of one run."""
    rows = _per_run(results["sparsity"]["rows"], run)
    if rows:
        path = study.stage("sparsity", run["task"], run["method"], run["seed"])
        _write(path / "sparsity.json", {"rows": rows})


def _serving(study: Study, group: dict[str, Any]) -> None:
    """serving.json and group.json of one serving group."""
    info = group["group"]
    path = study.stage("serve", None, sid=info["id"])
    _write(path / "serving.json", _without(group, ("group", "artifact")))
    _write(path / "group.json", _without(info, ("id",)))


def _forgetting(study: Study, measured: dict[str, Any] | None) -> None:
    """forgetting.json of the base model and of each run (none when nothing was measured)."""
    if not measured or "measured" not in measured:
        return
    _write(
        study.stage("forgetting_base", None, sid="forgetting-base") / "forgetting.json",
        measured["base"],
    )
    for m in measured["measured"]:
        path = study.stage("forgetting", m["task"], m["method"], m["seed"])
        _write(path / "forgetting.json", {"text": m["text"], "tasks": m["tasks"]})


def produce(root: Path, results: dict[str, Any]) -> dict[str, Any]:
    """results.json as the analysis writes it from artifacts holding `results`' numbers."""
    study = Study(root)
    tasks = results["study"]["tasks"]
    for task in tasks:
        if task in results["data"]:
            _write(study.stage("data", task) / "stats.json", results["data"][task])
        baselines = [_without(b, ("artifact",)) for b in results["baselines"] if b["task"] == task]
        if baselines:
            _write(study.stage("baselines", task) / "baselines.json", baselines)
    for run in results["runs"]:
        _train(study, run, _val_log(results, run), _ranks(results, run))
        _drift(study, results, run)
        _sparsity(study, results, run)
    for group in results["serving"]:
        _serving(study, group)
    _forgetting(study, results.get("forgetting"))
    config = RunConfig.model_validate(results["study"]["config"])
    report = config.report.model_dump()
    params = {
        "cells": study.cells,
        "tasks": tasks,
        "primary_metrics": results["decisions"]["primary_metric"],
        "config": config.model_dump(mode="json"),
        "report": report,
        "missing": {},
    }
    return build_results(params, study.inputs)
