"""Stage kinds: each one registration of its function ((params, upstream artifact dirs, output
dir) -> files in output dir), its declared outputs, its reader and its computation version."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loralens.config import validate_config
from loralens.results import collect
from loralens.results.collect import Reader
from loralens.results.schema import SCHEMA_VERSION
from loralens.study.store import read_manifest
from loralens.study.units import RunContext, Stage, VariantContext
from loralens.training.folder import TrainingRun

StageFn = Callable[[dict[str, Any], dict[str, Path], Path], None]


def _config(params: dict[str, Any]):
    """A RunConfig from a stage's config slice (extra bookkeeping keys removed)."""
    bookkeeping = ("variant", "group", "missing", "inputs", "kind_version")
    config = {k: v for k, v in params.items() if k not in bookkeeping}
    return validate_config(config, "stage params")


def upstream(inputs: dict[str, Path], kind: str) -> list[Path]:
    """The upstream artifact folders of one kind, as their (digest-checked) manifests say:
    never read from a stage id."""
    return [p for p in inputs.values() if read_manifest(p)["kind"] == kind]


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str))


def stage_data(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """Dataset statistics of one task: token lengths of the input as the study's models read
    it (through the prompt head's prompt), and per split the inputs cut to max_length."""
    import dataclasses

    from loralens.data import load_task_from_config
    from loralens.data.run_task import fitted, head_prompt, read_through
    from loralens.data.stats import task_stats
    from loralens.kinds import get_kind
    from loralens.models.load import load_tokenizer

    cfg = _config({"task": params["task"], "model": params["model"]})
    tok = load_tokenizer(cfg.model.name)
    data = load_task_from_config(cfg.task)
    prompt = head_prompt(cfg, data.spec)
    data = dataclasses.replace(data, spec=read_through(data.spec, prompt))
    stats = task_stats(data, lambda t: [len(i) for i in tok(t)["input_ids"]])
    if get_kind(data.spec.kind).labelled:
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

    base = next(iter(upstream(inputs, "control")), None)
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

    (run_dir,) = upstream(inputs, "train")
    (control,) = upstream(inputs, "control")
    run_drift(run_dir, out, control_dir=control, compared=params.get("pooling"))


def stage_seed_drift(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """How far the seeds of one variant drift apart, at every snapshot step they share."""
    from loralens.drift.seeds import run_snapshots, seed_pair_drift

    runs = {TrainingRun(p).config().training.seed: p for p in upstream(inputs, "train")}
    _write_json(out / "seed_drift.json", seed_pair_drift(run_snapshots(runs), params["pooling"]))


def stage_sparsity(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """ΔW spectra and intruder dimensions of one run."""
    from loralens.sparsity.run import run_sparsity

    (run_dir,) = upstream(inputs, "train")
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

    (run_dir,) = upstream(inputs, "train")
    (base_dir,) = upstream(inputs, "forgetting_base")
    base = json.loads((base_dir / "forgetting.json").read_text())
    result = measure_run(TrainingRun(run_dir), _forgetting_config(params), base)
    _write_json(out / "forgetting.json", result)


def stage_analysis(params: dict, inputs: dict[str, Path], out: Path) -> None:
    """Gather every artifact into results.json with the statistics and hypothesis verdicts."""
    from loralens.results.build import build_results

    _write_json(out / "results.json", build_results(params, inputs))


def plan_drift(ctx: RunContext) -> Stage:
    """A run's drift against its task's base, at the study's compared pooling."""
    params = {"task": ctx.task.name, "pooling": ctx.run.probing.pooling}
    return ctx.stage("drift", params, deps=(ctx.train_id, f"control/{ctx.task.name}"))


def plan_sparsity(ctx: RunContext) -> Stage:
    """A run's ΔW statistics: a full fine-tune's ΔW is read on the matrices LoRA adapts
    (lora.targets), which its own run key does not hold."""
    from loralens.methods import get_method

    params: dict[str, Any] = {"model": ctx.study.model.name}
    if get_method(ctx.run.method).delta == "full":
        params["targets"] = ctx.run.lora.targets
    return ctx.stage("sparsity", params, deps=(ctx.train_id,))


def plan_seed_drift(ctx: VariantContext) -> Stage | None:
    """A variant's seed-to-seed drift, when it has two seeds or more."""
    if len(ctx.train_ids) < 2:
        return None
    params = {"task": ctx.task.name, "pooling": ctx.run.probing.pooling}
    return ctx.stage("seed_drift", params, deps=tuple(ctx.train_ids.values()))


def plan_forgetting(ctx: RunContext) -> Stage | None:
    """A run on the forgetting probes, when the study asks for forgetting."""
    base = ctx.forgetting_base
    if base is None:
        return None
    return ctx.stage("forgetting", base.params, deps=(ctx.train_id, base.id))


@dataclass(frozen=True)
class StageKind:
    """A stage kind: the function that writes its artifact, the files it must leave, how the
    analysis reads it, which upstream kinds it reads, and its computation version."""

    name: str
    run: StageFn
    # What it must leave in its folder, checked before the folder is committed: a manifest
    # never describes a partial artifact ("a|b": either one).
    outputs: tuple[str, ...]
    read: Reader | None = None  # its artifact into the analysis' inputs (None: not read there)
    # The upstream kinds a stage of this kind may depend on (READABLE: every kind with a reader).
    reads: tuple[str, ...] = ()
    # Bump when its code would give different artifacts from the same config and upstream
    # artifacts, so caches of the older computation are not reused (its dependents' keys change
    # with it). Kinds at 1 keep the keys they had before versions existed.
    version: int = 1
    resumable: bool = False  # picks up its own checkpoints after a kill
    # A per-run kind: its stage on one trained run of the study (None: not planned for it).
    per_run: Callable[[RunContext], Stage | None] | None = None
    # A per-variant kind: its stage on every seed of one variant on one task.
    per_variant: Callable[[VariantContext], Stage | None] | None = None


STAGE_KINDS: dict[str, StageKind] = {}


def register_stage_kind(kind: StageKind) -> StageKind:
    """Add a stage kind to the registry (its name must be new)."""
    if kind.name in STAGE_KINDS:
        raise ValueError(f"stage kind '{kind.name}' is already registered")
    STAGE_KINDS[kind.name] = kind
    return kind


def may_read(kind: StageKind, upstream: str) -> bool:
    """Whether a stage of `kind` may depend on a stage of the `upstream` kind."""
    if kind.reads == READABLE:
        return stage_kind(upstream).read is not None
    return upstream in kind.reads


def stage_kind(name: str) -> StageKind:
    """A registered stage kind by name."""
    try:
        return STAGE_KINDS[name]
    except KeyError:
        raise KeyError(f"unknown stage kind '{name}'; registered: {sorted(STAGE_KINDS)}") from None


_RUN = TrainingRun  # the training run folder's layout
READABLE = ("*readable*",)  # `reads` of a kind that reads every kind with a reader
for _kind in (
    StageKind("data", stage_data, ("stats.json",), read=collect.read_data, version=2),
    # 2: the base's probe snapshot beside the random-init one
    StageKind(
        "control",
        stage_control,
        ("random_init.safetensors", "base.safetensors", "base.json"),
        version=2,
    ),
    StageKind(
        "train",
        stage_train,
        (
            *(_RUN.CONFIG, _RUN.ENV, _RUN.DATA, _RUN.LOG, _RUN.PREDICTIONS, _RUN.METRICS),
            "snapshots/selected.safetensors",
            "adapter|model",
            "variant.json",
        ),
        read=collect.read_train,
        reads=("control",),
        resumable=True,
    ),
    # 2: debiased CKA with exact jackknife intervals, pair null, dominance; 3: a run on a 4-bit
    # base against the fp32 base
    StageKind(
        "drift",
        stage_drift,
        ("drift.json", "drift.csv", "drift.parquet", "controls.csv"),
        read=collect.read_drift,
        reads=("train", "control"),
        version=3,
        per_run=plan_drift,
    ),
    # the scale drift is read on: two seeds of one variant against each other
    StageKind(
        "seed_drift",
        stage_seed_drift,
        ("seed_drift.json",),
        read=collect.read_seed_drift,
        reads=("train",),
        per_variant=plan_seed_drift,
    ),
    # 2: each matrix's chance level of intruders beside its count
    StageKind(
        "sparsity",
        stage_sparsity,
        ("sparsity.json",),
        read=collect.read_sparsity,
        reads=("train",),
        version=2,
        per_run=plan_sparsity,
    ),
    # 2: random interval = SD over seeds; 3: zero-shot reads the input as seen
    StageKind(
        "baselines", stage_baselines, ("baselines.json",), read=collect.read_baselines, version=3
    ),
    # 2: merged's one-adapter baseline timed in the same rounds (paired); 3: A-B-A pairs after a
    # warm-up until stable
    StageKind(
        "serve",
        stage_serve,
        ("group.json", "serving.json"),
        read=collect.read_serve,
        reads=("train",),
        version=3,
    ),
    # 2: the text read by document, windows sampled across all of it
    StageKind(
        "forgetting_base",
        stage_forgetting_base,
        ("forgetting.json",),
        read=collect.read_forgetting_base,
        version=2,
    ),
    StageKind(
        "forgetting",
        stage_forgetting,
        ("forgetting.json",),
        read=collect.read_forgetting,
        reads=("train", "forgetting_base"),
        per_run=plan_forgetting,
    ),
    # results.json in the current schema: an older cached analysis is recomputed, not reused
    # (the report reads only the current schema version).
    StageKind(
        "analysis",
        stage_analysis,
        ("results.json",),
        reads=READABLE,
        version=SCHEMA_VERSION,
    ),
):
    register_stage_kind(_kind)
