"""Expand a study config into a DAG of stages, each keyed by content."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import loralens
from loralens.config import RunConfig, variant_config


@dataclass(frozen=True)
class Stage:
    """One unit of work: a registered kind applied to a config slice and upstream artifacts."""

    id: str  # readable, unique in the plan: "train/rotten_tomatoes/lora-r8/42"
    kind: str  # stage registry name
    params: dict[str, Any]  # the config slice this stage depends on (JSON-able)
    deps: tuple[str, ...] = ()
    cpus: int = 1
    gpus: float = 0.0
    key: str = field(default="", compare=False)


def content_key(kind: str, params: dict[str, Any], dep_keys: list[str]) -> str:
    """sha256 of the stage kind, its config slice, its upstream keys and the package version."""
    blob = json.dumps([kind, params, dep_keys, loralens.__version__], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def with_keys(stages: list[Stage]) -> list[Stage]:
    """Stages (in dependency order) with their content keys filled in."""
    keys: dict[str, str] = {}
    out = []
    for s in stages:
        key = content_key(s.kind, s.params, [keys[d] for d in s.deps])
        keys[s.id] = key
        out.append(Stage(s.id, s.kind, s.params, s.deps, s.cpus, s.gpus, key))
    return out


def _run_cfg(cfg: RunConfig, task: str, variant: str, seed: int) -> RunConfig:
    """The run config of one study cell."""
    run = variant_config(cfg, variant)
    task_cfg = run.task.model_copy(update={"name": task})
    training = run.training.model_copy(update={"seed": seed})
    return run.model_copy(update={"task": task_cfg, "training": training, "name": variant})


def _train_params(run: RunConfig) -> dict[str, Any]:
    """The slice of a run config that determines a training result."""
    dump = run.model_dump(mode="json")
    keep = ("method", "device", "model", "task", "lora", "adalora", "training", "probing")
    return {k: dump[k] for k in keep}


def plan_study(cfg: RunConfig) -> list[Stage]:
    """Every stage of a study: data, training, baselines, drift, sparsity, serving, analysis."""
    st = cfg.study
    stages: list[Stage] = []
    train_ids: list[str] = []
    gpus = 1.0 if cfg.device == "cuda" else 0.0
    for task in st.tasks:
        task_params = cfg.model_copy(update={"task": cfg.task.model_copy(update={"name": task})})
        data_params = {"task": task_params.task.model_dump(mode="json"), "model": cfg.model.name}
        stages.append(Stage(f"data/{task}", "data", data_params))
        for variant in st.methods:
            for seed in st.seeds:
                run = _run_cfg(cfg, task, variant, seed)
                sid = f"train/{task}/{variant}/{seed}"
                stages.append(
                    Stage(sid, "train", {**_train_params(run), "variant": variant}, gpus=gpus)
                )
                train_ids.append(sid)
                stages.append(
                    Stage(
                        f"drift/{task}/{variant}/{seed}",
                        "drift",
                        {"task": task},
                        deps=(sid, f"control/{task}"),
                    )
                )
                stages.append(
                    Stage(
                        f"sparsity/{task}/{variant}/{seed}",
                        "sparsity",
                        {"model": cfg.model.name},
                        deps=(sid,),
                    )
                )
        stages.append(Stage(f"control/{task}", "control", _control_params(cfg, task)))
        stages += _baseline_stages(cfg, task, gpus)
    serve = _serve_stage(cfg, train_ids)
    if serve.deps and cfg.serving.engines:
        stages.append(serve)
    upstream = tuple(s.id for s in stages if s.kind != "control")
    stages.append(
        Stage(
            "analysis",
            "analysis",
            {
                "report": cfg.report.model_dump(mode="json"),
                "study": st.model_dump(mode="json"),
                "config": cfg.model_dump(mode="json"),
            },
            deps=upstream,
        )
    )
    return with_keys(_topological(stages))


def _control_params(cfg: RunConfig, task: str) -> dict[str, Any]:
    """Inputs of the random-init control: the probe set and the model architecture."""
    return {
        "task": cfg.task.model_copy(update={"name": task}).model_dump(mode="json"),
        "model": cfg.model.model_dump(mode="json"),
        "probing": cfg.probing.model_dump(mode="json"),
    }


def _baseline_stages(cfg: RunConfig, task: str, gpus: float) -> list[Stage]:
    """Majority/random/zero-shot in one stage; the encoder baseline as training runs."""
    st = cfg.study
    stages = []
    simple = [b for b in st.baselines if b != "encoder"]
    if simple:
        params = {
            "task": cfg.task.model_copy(update={"name": task}).model_dump(mode="json"),
            "model": cfg.model.model_dump(mode="json"),
            "baselines": simple,
            "eval_batch_size": cfg.training.eval_batch_size,
        }
        stages.append(Stage(f"baselines/{task}", "baselines", params, gpus=gpus))
    if "encoder" in st.baselines:
        for seed in st.seeds:
            run = _run_cfg(cfg, task, "full", seed)
            model = run.model.model_copy(update={"name": st.encoder_model})
            training = run.training.model_copy(update={"learning_rate": st.encoder_learning_rate})
            run = run.model_copy(update={"model": model, "training": training})
            stages.append(
                Stage(
                    f"encoder/{task}/{seed}",
                    "train",
                    {**_train_params(run), "variant": "encoder"},
                    gpus=gpus,
                )
            )
    return stages


def _serve_stage(cfg: RunConfig, train_ids: list[str]) -> Stage:
    """The in-process serving benchmark over the study's LoRA adapters."""
    lora_ids = tuple(
        sid
        for sid in train_ids
        if variant_config(cfg, sid.split("/")[2]).method in ("lora", "qlora")
    )
    params = {"serving": cfg.serving.model_dump(mode="json"), "model": cfg.model.name}
    return Stage("serve", "serve", params, deps=lora_ids)


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
