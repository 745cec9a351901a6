"""Read a study's upstream artifacts for the analysis: one reader per stage kind.

Each reader is registered with its stage kind (`loralens.study.stages.STAGE_KINDS`), beside
the function that writes the artifact, and adds what it reads to the analysis' inputs
(`Collected`: lists by section name). `collect` calls the reader of each upstream stage's kind.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loralens.results.variants import adalora_rank_rows
from loralens.task_metrics import METRICS
from loralens.training.folder import TrainingRun

Collected = dict[str, Any]  # section -> list of what was read (defaultdict(list))
Reader = Callable[[str, Path, dict[str, Any], Collected], None]  # (stage id, folder, cell, out)

# What the analysis reads of a run and results.json leaves out: per-example test data, val log.
ANALYSIS_ONLY = ("predictions", "labels", "val_log", "example_scores", "example_keys")


def _read(path: Path) -> Any:
    return json.loads(path.read_text())


def _rel(path: Path) -> str:
    """An artifact path relative to the run directory (RUN/artifacts/<kind>-<key>)."""
    return str(Path(path.parent.name) / path.name)


def _ident(cell: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(task, variant, seed) of a per-run stage."""
    return cell.get("task"), cell.get("variant"), cell.get("seed")


def collect(inputs: dict[str, Path], cells: dict[str, dict[str, Any]]) -> Collected:
    """Read every upstream artifact by its kind's reader (`cells`: what each stage is)."""
    from loralens.study.stages import stage_kind

    out: Collected = defaultdict(list)
    for sid, path in sorted(inputs.items()):
        reader = stage_kind(cells[sid]["kind"]).read
        if reader is not None:
            reader(sid, path, cells[sid], out)
    return out


def read_data(sid: str, path: Path, cell: dict[str, Any], out: Collected) -> None:
    """A task's data statistics."""
    out["data"].append((cell["task"], _read(path / "stats.json")))


def read_train(sid: str, path: Path, cell: dict[str, Any], out: Collected) -> None:
    """A training run (the encoder baseline's runs apart), its AdaLoRA ranks to `adalora`."""
    section = "encoder" if cell["variant"] == "encoder" else "train"
    out[section].append(_run_record(TrainingRun(path), cell["variant"], out["adalora"]))


def read_baselines(sid: str, path: Path, cell: dict[str, Any], out: Collected) -> None:
    """A task's majority, random and zero-shot baselines."""
    out["baselines"] += [{**b, "artifact": _rel(path)} for b in _read(path / "baselines.json")]


def read_drift(sid: str, path: Path, cell: dict[str, Any], out: Collected) -> None:
    """A run's drift tables."""
    out["drift"].append((_ident(cell), _read(path / "drift.json"), _rel(path)))


def read_seed_drift(sid: str, path: Path, cell: dict[str, Any], out: Collected) -> None:
    """A variant's seed-to-seed drift."""
    out["seed_drift"].append(((cell["task"], cell["variant"]), _read(path / "seed_drift.json")))


def read_sparsity(sid: str, path: Path, cell: dict[str, Any], out: Collected) -> None:
    """A run's ΔW statistics."""
    out["sparsity"].append((_ident(cell), _read(path / "sparsity.json"), _rel(path)))


def read_forgetting(sid: str, path: Path, cell: dict[str, Any], out: Collected) -> None:
    """A run's forgetting probes."""
    out["forgetting"].append((_ident(cell), _read(path / "forgetting.json"), _rel(path)))


def read_forgetting_base(sid: str, path: Path, cell: dict[str, Any], out: Collected) -> None:
    """The base model's forgetting probes (one per study)."""
    out["forgetting_base"] = _read(path / "forgetting.json")


def read_serve(sid: str, path: Path, cell: dict[str, Any], out: Collected) -> None:
    """One serving group's benchmark, with which runs it served."""
    group = {"id": sid, **_read(path / "group.json")}
    out["serving"].append({**_read(path / "serving.json"), "group": group, "artifact": _rel(path)})


def _run_record(run: TrainingRun, variant: str, adalora: list[dict]) -> dict[str, Any]:
    """A run's metrics as a results row, with its test predictions; AdaLoRA ranks to `adalora`."""
    metrics = run.metrics().to_dict()
    artifact = _rel(run.root)
    pattern = run.rank_pattern()
    if pattern is not None:
        ident = {"task": metrics["task"], "method": variant, "seed": metrics["seed"]}
        adalora += adalora_rank_rows(ident, pattern, str(Path(artifact) / run.RANK_PATTERN))
    rows = run.predictions()
    head = run.data_record().get("head") or {}
    return {
        **metrics,
        "method": variant,
        "base_method": metrics["method"],
        "learning_rate": run.config().training.learning_rate,  # as trained (tuned values too)
        "head": head.get("mode"),
        "artifact": artifact,
        # classification only: a language-modelling run's records are scoring windows
        "predictions": [r["pred"] for r in rows if "pred" in r],
        "labels": [r["label"] for r in rows if "label" in r],
        **example_scores(rows, metrics["test"]),
        "val_log": run.log()["val"],
    }


def example_scores(rows: list[dict], test: dict[str, float]) -> dict[str, Any]:
    """Per-example test scores of each per-example-mean metric the run reports, and the
    examples' identities (id, else index, with the label where there is one)."""
    scores = {
        name: [METRICS[name].example_score(r) for r in rows]
        for name in test
        if name in METRICS and METRICS[name].example_score is not None
    }
    keys = [[r.get("id", r.get("index")), r.get("label")] for r in rows]
    return {"example_scores": scores, "example_keys": keys}
