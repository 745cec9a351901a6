"""Expand a study config into a DAG of stages, each keyed by content."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import loralens
from loralens.config import RunConfig, variant_config
from loralens.errors import ConfigError
from loralens.hpo.tuned import tuned_cell
from loralens.kinds import get_kind
from loralens.methods import get_method
from loralens.study.inputs import model_inputs, task_inputs
from loralens.study.stages import STAGE_KINDS, may_read, stage_kind
from loralens.study.units import Cell, RunContext, Stage, StudyTask, VariantContext, cell_dict
from loralens.training.folder import run_fields


def study_tasks(cfg: RunConfig) -> list[StudyTask]:
    """The study's tasks with their declared names; two entries may not share a name."""
    from loralens.data.registry import get_task

    out: list[StudyTask] = []
    for entry in cfg.study.tasks:
        spec = get_task(entry)
        clash = next((t for t in out if t.name == spec.name), None)
        if clash is not None:
            raise ConfigError(
                f"study.tasks: '{entry}' and '{clash.entry}' both declare the task name "
                f"'{spec.name}'; every task of a study needs its own name"
            )
        try:
            cfg.report.margin(spec.primary_metric)  # part A needs one, in the metric's unit
        except ValueError as exc:
            raise ConfigError(f"task '{spec.name}': {exc}") from None
        out.append(StudyTask(spec.name, entry, spec.num_labels, spec.primary_metric, spec.kind))
    return out


def content_key(kind: str, params: dict[str, Any], dep_keys: list[str]) -> str:
    """sha256 of the stage kind, its config slice, its upstream keys, the package version and
    (when above 1) the kind's computation version."""
    parts: list[Any] = [kind, params, dep_keys, loralens.__version__]
    version = stage_kind(kind).version  # declared on the kind's registration
    if version > 1:
        parts.append(version)
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def with_keys(stages: list[Stage]) -> list[Stage]:
    """Stages (in dependency order) with their content keys filled in."""
    keys: dict[str, str] = {}
    out = []
    for s in stages:
        key = content_key(s.kind, s.params, [keys[d] for d in s.deps])
        keys[s.id] = key
        out.append(dataclasses.replace(s, key=key))
    return out


def with_missing(stage: Stage, missing: dict[str, str], keys: dict[str, str]) -> Stage:
    """A tolerant stage run without its `missing` upstream stages (id -> reason), keyed anew."""
    deps = tuple(d for d in stage.deps if d not in missing)
    params = {**stage.params, "missing": dict(sorted(missing.items()))}
    key = content_key(stage.kind, params, [keys[d] for d in deps])
    return dataclasses.replace(stage, params=params, deps=deps, key=key)


def cell_config(cfg: RunConfig, task: str, variant: str, seed: int) -> RunConfig:
    """The run config of one study cell (`task`: the entry that loads the task)."""
    run = variant_config(cfg, variant)
    task_cfg = run.task.model_copy(update={"name": task})
    training = run.training.model_copy(update={"seed": seed})
    return run.model_copy(update={"task": task_cfg, "training": training, "name": variant})


def plan_study(cfg: RunConfig) -> list[Stage]:
    """Every stage of a study: data, training, baselines, drift, sparsity, serving, analysis."""
    st = cfg.study
    tasks = study_tasks(cfg)
    stages: list[Stage] = []
    lora_runs: list[tuple[StudyTask, str, int, str]] = []  # (task, variant, seed, stage id)
    gpus = 1.0 if cfg.device == "cuda" else 0.0
    forgetting = _forgetting_base(cfg)
    stages += forgetting
    for task in tasks:
        reads = _reads(cfg, task, cfg.model.name)  # keyed by content
        model = {k: getattr(cfg.model, k) for k in ("name", "max_length", "head")}
        data_params = _with_inputs({"task": _task_params(cfg, task), "model": model}, reads)
        stages.append(Stage(f"data/{task.name}", "data", data_params, cell=Cell(task.name)))
        for variant in st.methods:
            train_ids: dict[int, str] = {}
            for seed in st.seeds:
                run = tuned_cell(
                    cfg, cell_config(cfg, task.entry, variant, seed), task.name, variant
                )
                sid = f"train/{task.name}/{variant}/{seed}"
                cell = Cell(task.name, variant, seed)
                run_reads = _reads(cfg, task, run.model.name)
                params = {**run_fields(run), "variant": variant, **_kind_version(task.kind)}
                params = _with_inputs(params, run_reads)
                # the task's base snapshot: the step-0 snapshot of runs that start at the base
                control_id = f"control/{task.name}"
                stages.append(Stage(sid, "train", params, deps=(control_id,), gpus=gpus, cell=cell))
                if get_method(run.method).servable and get_kind(task.kind).servable:
                    lora_runs.append((task, variant, seed, sid))
                ctx = RunContext(cfg, run, task, cell, sid, next(iter(forgetting), None))
                stages += [
                    stage
                    for kind in STAGE_KINDS.values()
                    if kind.per_run is not None and (stage := kind.per_run(ctx)) is not None
                ]
                train_ids[seed] = sid
            group = VariantContext(cfg, run, task, variant, train_ids)
            stages += [
                stage
                for kind in STAGE_KINDS.values()
                if kind.per_variant is not None and (stage := kind.per_variant(group)) is not None
            ]
        control = _with_inputs(_control_params(cfg, task), reads)
        stages.append(Stage(f"control/{task.name}", "control", control, cell=Cell(task.name)))
        stages += _baseline_stages(cfg, task, gpus)
    if cfg.serving.engines:
        stages += _serve_stages(cfg, lora_runs)
    upstream = [s for s in stages if stage_kind(s.kind).read is not None]  # what it reads
    cells = {s.id: {"kind": s.kind, **cell_dict(s.cell)} for s in upstream}
    stages.append(
        Stage(
            "analysis",
            "analysis",
            {
                "report": cfg.report.model_dump(mode="json"),
                "study": st.model_dump(mode="json"),
                "tasks": [t.name for t in tasks],
                "primary_metrics": {t.name: t.primary_metric for t in tasks},
                "cells": cells,  # what each upstream stage is, so no stage id is parsed
                "config": cfg.model_dump(mode="json"),
            },
            deps=tuple(s.id for s in upstream),
            tolerant=True,
        )
    )
    check_reads(stages)
    return with_keys(_topological(stages))


def check_reads(stages: list[Stage]) -> None:
    """Every stage depends only on upstream kinds its kind declares it reads (ValueError)."""
    kinds = {s.id: s.kind for s in stages}
    for s in stages:
        kind = stage_kind(s.kind)
        odd = sorted({kinds[d] for d in s.deps if not may_read(kind, kinds[d])})
        if odd:
            raise ValueError(
                f"stage {s.id} ({s.kind}) depends on {', '.join(odd)}: its kind's "
                f"registration does not say it reads them"
            )


def _forgetting_base(cfg: RunConfig) -> list[Stage]:
    """The base model's forgetting stage, when the study asks for forgetting (else none)."""
    fg = cfg.study.forgetting
    if fg.text is None and not fg.tasks:
        return []
    reads: dict[str, str] = dict(model_inputs(cfg.model.name))
    for entry in [e for e in (fg.text, *fg.tasks) if e]:
        reads |= task_inputs(entry, cfg.task.data_dir)
    params = {
        "model": cfg.model.model_dump(mode="json"),
        "forgetting": fg.model_dump(mode="json"),
        "data_dir": str(cfg.task.data_dir) if cfg.task.data_dir else None,
        "eval_batch_size": cfg.training.eval_batch_size,
    }
    return [Stage("forgetting-base", "forgetting_base", _with_inputs(params, reads))]


def _reads(cfg: RunConfig, task: StudyTask, model: str) -> dict[str, str]:
    """Digests of the files a stage of `task` on `model` reads by path (see study/inputs.py)."""
    return {**task_inputs(task.entry, cfg.task.data_dir), **model_inputs(model)}


def _kind_version(kind: str) -> dict[str, int]:
    """The task kind's computation version as a stage param, above 1 only (so the keys of kinds
    that never changed, classification, stay as they were)."""
    version = get_kind(kind).version
    return {"kind_version": version} if version > 1 else {}


def _with_inputs(params: dict[str, Any], inputs: dict[str, str]) -> dict[str, Any]:
    """Stage params with the digests of the files it reads by path (unchanged if there are none,
    so the keys of built-in tasks and registered models stay as they were)."""
    return {**params, "inputs": inputs} if inputs else params


def _task_params(cfg: RunConfig, task: StudyTask) -> dict[str, Any]:
    """The task section of one study task (its entry loads it)."""
    return cfg.task.model_copy(update={"name": task.entry}).model_dump(mode="json")


def _control_params(cfg: RunConfig, task: StudyTask) -> dict[str, Any]:
    """Inputs of the controls: the probe set, the model and where the base's snapshot runs."""
    return {
        "task": _task_params(cfg, task),
        # the controls are fp32, whatever a run's quantization (a 4-bit run captures its own)
        "model": cfg.model.model_dump(mode="json", exclude={"quantization"}),
        "probing": cfg.probing.model_dump(mode="json"),
        "device": cfg.device,
    }


def _baseline_stages(cfg: RunConfig, task: StudyTask, gpus: float) -> list[Stage]:
    """Majority/random/zero-shot in one stage; the encoder baseline as training runs."""
    st = cfg.study
    stages = []
    simple = [b for b in st.baselines if b != "encoder"]
    if simple:
        params = {
            "task": _task_params(cfg, task),
            "model": cfg.model.model_dump(mode="json"),
            "baselines": simple,
            "eval_batch_size": cfg.training.eval_batch_size,
            **_kind_version(task.kind),
        }
        cell = Cell(task.name)
        params = _with_inputs(params, _reads(cfg, task, cfg.model.name))
        stages.append(Stage(f"baselines/{task.name}", "baselines", params, gpus=gpus, cell=cell))
    if "encoder" in st.baselines:
        for seed in st.seeds:
            run = cell_config(cfg, task.entry, "full", seed)
            model = run.model.model_copy(update={"name": st.encoder_model})
            training = run.training.model_copy(update={"learning_rate": st.encoder_learning_rate})
            run = run.model_copy(update={"model": model, "training": training})
            stages.append(
                Stage(
                    f"encoder/{task.name}/{seed}",
                    "train",
                    _with_inputs(
                        {**run_fields(run), "variant": "encoder"},
                        _reads(cfg, task, run.model.name),
                    ),
                    gpus=gpus,
                    cell=Cell(task.name, "encoder", seed),
                )
            )
    return stages


def _serve_stages(cfg: RunConfig, runs: list[tuple[StudyTask, str, int, str]]) -> list[Stage]:
    """One serving benchmark per classifier-head size: adapters that fit one base together."""
    groups: dict[int, list[tuple[StudyTask, str, int, str]]] = {}
    for run in runs:
        groups.setdefault(run[0].num_labels, []).append(run)
    stages = []
    for num_labels, members in sorted(groups.items()):
        serving = cfg.serving.model_copy(update={"num_labels": num_labels})
        params = {
            "serving": serving.model_dump(mode="json"),
            "model": cfg.model.name,
            "group": {
                "num_labels": num_labels,
                "tasks": list(dict.fromkeys(t.name for t, *_ in members)),
                "runs": [
                    {"stage": sid, "task": t.name, "variant": v, "seed": seed}
                    for t, v, seed, sid in members
                ],
            },
        }
        deps = tuple(sid for *_, sid in members)
        stages.append(Stage(f"serve/{num_labels}-labels", "serve", params, deps=deps))
    return stages


def _topological(stages: list[Stage]) -> list[Stage]:
    """Stages reordered so that every stage comes after its dependencies."""
    by_id = {s.id: s for s in stages}
    done: set[str] = set()
    order: list[Stage] = []

    def visit(sid: str, path: tuple[str, ...]) -> None:
        if sid in done:
            return
        if sid in path:
            raise ValueError(f"dependency cycle: {' -> '.join((*path, sid))}")
        for dep in by_id[sid].deps:
            visit(dep, (*path, sid))
        done.add(sid)
        order.append(by_id[sid])

    for s in stages:
        visit(s.id, ())
    return order
