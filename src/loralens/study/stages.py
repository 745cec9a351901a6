"""Stage functions by kind: (params, upstream artifact dirs, output dir) -> files in output dir."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loralens.config import validate_config
from loralens.training.folder import TrainingRun

StageFn = Callable[[dict[str, Any], dict[str, Path], Path], None]


def _config(params: dict[str, Any]):
    """A RunConfig from a stage's config slice (extra bookkeeping keys removed)."""
    bookkeeping = ("variant", "group", "missing", "inputs", "kind_version")
    config = {k: v for k, v in params.items() if k not in bookkeeping}
    return validate_config(config, "stage params")


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str))


def stage_data(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """Dataset statistics of one task: token lengths of the input as the study's models read
    it (through the prompt head's prompt), and per split the inputs cut to max_length."""
    import dataclasses

    from loralens.data import load_task_from_config
    from loralens.data.run_task import fitted, head_prompt, read_through
    from loralens.data.stats import task_stats
    from loralens.models.load import load_tokenizer

    cfg = _config({"task": params["task"], "model": params["model"]})
    tok = load_tokenizer(cfg.model.name)
    data = load_task_from_config(cfg.task)
    prompt = head_prompt(cfg, data.spec)
    data = dataclasses.replace(data, spec=read_through(data.spec, prompt))
    stats = task_stats(data, lambda t: [len(i) for i in tok(t)["input_ids"]])
    if data.spec.kind == "classification":
        stats["cut"] = fitted(data, tok, cfg.model.max_length).cut
        stats["max_length"] = cfg.model.max_length
        stats["input"] = "prompt" if prompt is not None else "plain"
    else:  # what the kind's encoding reads: test documents scored, answers lost to the length
        stats["encoded"] = _encoded(cfg, data, tok)
        stats["max_length"] = cfg.model.max_length
    _write_json(out / "stats.json", stats)


def _encoded(cfg, data, tok) -> dict[str, dict[str, int]]:
    """Per split what a run of the config encodes of it (its kind's summary)."""
    from loralens.kinds import encoded_summary, get_kind

    kind = get_kind(data.spec.kind)
    budgets = {k: getattr(cfg.task, k) for k in ("max_train", "max_val", "max_test")}
    splits = ("train", "val", "test")
    rows = kind.encode(data, tok, cfg.model.max_length, budgets, cfg.task.split_seed, splits)
    return encoded_summary(kind, data, rows)


def stage_train(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """One training run (resumes from its checkpoints if the stage was interrupted); its step-0
    snapshot is copied from the task's base snapshot when that is its bytes."""
    from loralens.training.run import train_run

    base = next((p for sid, p in inputs.items() if sid.startswith("control/")), None)
    train_run(_config(params), out, base=base)
    _write_json(out / "variant.json", {"variant": params["variant"]})


def stage_control(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """Base and random-init representations of a task's probe set (drift controls; the base's
    is the step-0 snapshot of the runs that start at the base)."""
    from loralens.drift.io import write_control
    from loralens.training.base_snapshot import write_base_snapshot

    cfg = _config(params)
    write_control(cfg, out)
    write_base_snapshot(cfg, out)


def stage_drift(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """Drift tables of one run against its base, with controls."""
    from loralens.drift.io import run_drift

    run_dir = next(p for sid, p in inputs.items() if sid.startswith(("train/", "encoder/")))
    control = next(p for sid, p in inputs.items() if sid.startswith("control/"))
    run_drift(run_dir, out, control_dir=control, compared=params.get("pooling"))


def stage_sparsity(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """ΔW spectra and intruder dimensions of one run."""
    from loralens.sparsity.run import run_sparsity

    (run_dir,) = inputs.values()
    _write_json(out / "sparsity.json", run_sparsity(run_dir, targets=params.get("targets")))


def stage_baselines(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """Majority, stratified random and zero-shot baselines on test (selection on val)."""
    from loralens.baselines.run import run_baselines

    cfg = _config({"task": params["task"], "model": params["model"]})
    results = run_baselines(cfg, params["baselines"], params["eval_batch_size"])
    _write_json(out / "baselines.json", results)


def stage_serve(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """The in-process serving benchmark over one group of trained adapters (one head size)."""
    from loralens.serving.bench import run_serve_bench

    cfg = _config({"serving": params["serving"]})
    group = params["group"]
    adapters = [TrainingRun(inputs[run["stage"]]).adapter_dir for run in group["runs"]]
    engines = cfg.serving.engines
    result = run_serve_bench(params["model"], adapters, cfg.serving, engines, strict=False)
    # Which study run each served adapter is (the benchmark names adapters by folder).
    runs = [
        {**run, "adapter": a.name} for run, a in zip(group["runs"], result.adapters, strict=False)
    ]
    _write_json(out / "group.json", {**group, "runs": runs})
    doc = result.model_dump(mode="json")
    root = out.parents[1]
    for adapter in doc["adapters"]:  # where in the run folder, not where the folder lies
        path = Path(adapter["path"])  # a synthetic adapter lives in a temporary folder: its name
        adapter["path"] = str(path.relative_to(root)) if path.is_relative_to(root) else path.name
    _write_json(out / "serving.json", doc)


def _forgetting_config(params: dict):
    """The config slice the forgetting probes read."""
    return _config(
        {
            "model": params["model"],
            "task": {"data_dir": params["data_dir"]},
            "training": {"eval_batch_size": params["eval_batch_size"]},
            "study": {"forgetting": params["forgetting"]},
        }
    )


def stage_forgetting_base(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """The base model on the forgetting probes; it fixes each task's zero-shot template."""
    from loralens.forgetting.measure import measure
    from loralens.models.load import load_causal_lm

    cfg = _forgetting_config(params)
    model, tok = load_causal_lm(cfg.model.name)
    _write_json(out / "forgetting.json", measure(model, tok, cfg, None))


def stage_forgetting(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """One run's model on the forgetting probes (the base's templates)."""
    from loralens.forgetting.measure import measure_run

    run_dir = next(p for sid, p in inputs.items() if sid.startswith("train/"))
    base = json.loads((inputs["forgetting-base"] / "forgetting.json").read_text())
    result = measure_run(TrainingRun(run_dir), _forgetting_config(params), base)
    _write_json(out / "forgetting.json", result)


def stage_analysis(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """Gather every artifact into results.json with the statistics and hypothesis verdicts."""
    from loralens.results.build import build_results

    _write_json(out / "results.json", build_results(params, inputs))


STAGES: dict[str, StageFn] = {
    "data": stage_data,
    "train": stage_train,
    "control": stage_control,
    "drift": stage_drift,
    "sparsity": stage_sparsity,
    "baselines": stage_baselines,
    "serve": stage_serve,
    "forgetting_base": stage_forgetting_base,
    "forgetting": stage_forgetting,
    "analysis": stage_analysis,
}
RESUMABLE = {"train"}  # stages that pick up their own checkpoints after a kill

# What each kind must leave in its folder, checked before the folder is committed: a manifest
# never describes a partial artifact ("a|b": either one).
_RUN = TrainingRun  # the training run folder's layout
OUTPUTS: dict[str, tuple[str, ...]] = {
    "data": ("stats.json",),
    "train": (
        *(_RUN.CONFIG, _RUN.ENV, _RUN.DATA, _RUN.LOG, _RUN.PREDICTIONS, _RUN.METRICS),
        "snapshots/selected.safetensors",
        "adapter|model",
        "variant.json",
    ),
    "control": ("random_init.safetensors", "base.safetensors", "base.json"),
    "drift": ("drift.json", "drift.csv", "drift.parquet", "controls.csv"),
    "sparsity": ("sparsity.json",),
    "baselines": ("baselines.json",),
    "serve": ("group.json", "serving.json"),
    "forgetting_base": ("forgetting.json",),
    "forgetting": ("forgetting.json",),
    "analysis": ("results.json",),
}
