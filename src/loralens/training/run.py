"""`loralens train`: one run of one method on one task, with selection on val and test once."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
from transformers import EarlyStoppingCallback
from transformers.trainer_callback import PrinterCallback

from loralens.config import RunConfig
from loralens.data import TaskData
from loralens.data.run_task import load_run_task
from loralens.env import fingerprint
from loralens.errors import ConfigError, LoralensError
from loralens.kinds import TaskKind, encoded_summary, get_kind, selection_metric
from loralens.memory import peak_rss_mb, reset_peak_rss
from loralens.methods import Method, get_method
from loralens.probing.probe_set import run_probe_set
from loralens.training.base_snapshot import shared_step0
from loralens.training.callbacks import (
    GuardedTrainer,
    SnapshotCallback,
    StderrLogCallback,
)
from loralens.training.folder import RunMetrics, TrainingRun, run_fields
from loralens.training.setup import (
    build_model,
    resolve_device,
    setup_tracker,
    total_training_steps,
    trainable_parameters,
    training_arguments,
)

SPLITS = ("train", "val", "test")


def last_checkpoint(folder: Path) -> str | None:
    """The newest complete Trainer checkpoint in folder, if any."""
    ckpts = [p for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    return str(max(ckpts, key=lambda p: int(p.name.split("-")[1]))) if ckpts else None


def train_run(cfg: RunConfig, out: Path, base: Path | None = None) -> RunMetrics:
    """Train, select on val, evaluate once on test, write every output; resume if interrupted.

    `base`: a folder holding the base model's probe snapshot (`training.base_snapshot`), copied
    as the step-0 snapshot when that would be its bytes.
    """
    run = TrainingRun(out)
    check_same_run(cfg, run)
    if run.finished():
        return run.metrics()
    setup_tracker(cfg)
    peak_scope = "run" if reset_peak_rss() else "process"
    data = load_run_task(cfg)
    device = resolve_device(cfg)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    kind = get_kind(data.spec.kind)
    model, tok, rows = _model_and_rows(cfg, data, kind)  # validates targets and ranks
    run.write_config(cfg)  # check_same_run reads it when the run is resumed
    run.write_json(run.ENV, fingerprint())
    trainable, total = trainable_parameters(model)
    probe = run_probe_set(data, cfg)
    encoded = encoded_summary(kind, data, rows)  # e.g. test documents scored, answers lost
    run.write_json(run.DATA, _data_record(data, probe.sha256, tok, encoded))
    step0 = shared_step0(cfg, probe.sha256, device, base)
    snapshots = SnapshotCallback.of_run(cfg, probe, tok, run.snapshots, step0)
    trainer = _trainer(cfg, run, device, kind, data.spec, (model, tok), rows, [snapshots])
    run.write_json(run.TRAINER_ARGS, trainer_args(trainer.args, run))

    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=_resume_point(cfg, run))
    wall = time.perf_counter() - start
    best = trainer.model  # the checkpoint selected on val (load_best_model_at_end)
    best_step = _best_step(trainer)
    method = get_method(cfg.method)
    # a model that reloads in other shapes (AdaLoRA, pruned) rounds otherwise: captured again
    snapshots.select(best, best_step, run.selected_snapshot, copy=method.reloads_as_trained)

    test = kind.evaluate(data, best, tok, rows["test"], cfg.training.eval_batch_size)
    _save_weights(method, best, tok, run)
    if method.after_training is not None:
        method.after_training(best, run)
    run.write_json(run.LOG, _log_record(trainer.state.log_history))
    run.write_predictions(test.records)
    metrics = RunMetrics(
        task=data.spec.name,
        method=cfg.method,
        seed=cfg.training.seed,
        test=test.metrics,
        val_best=trainer.state.best_metric,
        selected_step=best_step,
        steps=trainer.state.global_step,
        trainable_params=trainable,
        total_params=total,
        trainable_share=trainable / total,
        train_runtime_s=result.metrics.get("train_runtime"),
        wall_time_s=wall,
        train_tokens_per_s=_tokens_per_s(rows["train"], trainer, result),
        peak_rss_mb=peak_rss_mb(),
        peak_rss_scope=peak_scope,
        peak_gpu_mb=torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
        device=device,
    )
    shutil.rmtree(run.checkpoints, ignore_errors=True)
    run.write_json(run.METRICS, metrics.to_dict())  # written last: it marks a finished run
    return metrics


def _differences(old: object, new: object, key: str) -> list[str]:
    """Dotted keys whose values differ between two config dumps."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = dict.fromkeys([*old, *new])
        return [d for k in keys for d in _differences(old.get(k), new.get(k), f"{key}.{k}")]
    return [] if old == new else [f"{key.lstrip('.')}: {old!r} -> {new!r}"]


def check_same_run(cfg: RunConfig, run: TrainingRun) -> None:
    """Raise unless the folder is new or holds a run of the same config (its run fields)."""
    if not run.exists():
        return
    out = run.root
    try:
        previous = run_fields(run.config())
    except LoralensError:
        raise ConfigError(
            f"{out} holds a config.yaml that is not a loralens run config; give another --out"
        ) from None
    asked = run_fields(cfg)
    diff = [d for k in asked for d in _differences(previous.get(k), asked[k], k)]
    if diff:
        state = "finished" if run.finished() else "interrupted"
        raise ConfigError(
            f"{out} holds a {state} run with a different config ({'; '.join(diff)}); "
            f"give another --out, or delete {out} to train again"
        )


def _resume_point(cfg: RunConfig, run: TrainingRun) -> str | None:
    """The checkpoint to resume from; an interrupted AdaLoRA run starts again from step 0."""
    checkpoint = last_checkpoint(run.checkpoints)
    if checkpoint and not get_method(cfg.method).resumable:
        # Resuming would not continue the same run (AdaLoRA: its checkpoints lack the rank
        # allocator's importance averages); a seeded restart reproduces it.
        print(
            f"{cfg.method} cannot resume from {checkpoint}; training from step 0", file=sys.stderr
        )
        shutil.rmtree(run.checkpoints)
        shutil.rmtree(run.snapshots, ignore_errors=True)
        return None
    return checkpoint


def fit_on_val(cfg: RunConfig, out: Path, callbacks: list) -> list[dict]:
    """Train with selection on val only (no test, no snapshots); return the Trainer's log.

    The search's objective: the same model, arguments and Trainer as `train_run`, but `test`
    is never encoded or scored.
    """
    run = TrainingRun(out)
    data = load_run_task(cfg)
    device = resolve_device(cfg)
    kind = get_kind(data.spec.kind)
    model, tok, rows = _model_and_rows(cfg, data, kind, ("train", "val"))  # test: never
    run.write_config(cfg)
    trainer = _trainer(cfg, run, device, kind, data.spec, (model, tok), rows, callbacks)
    run.write_json(run.TRAINER_ARGS, trainer_args(trainer.args, run))
    trainer.train()
    return list(trainer.state.log_history)


def _model_and_rows(
    cfg: RunConfig, data: TaskData, kind: TaskKind, splits: tuple[str, ...] = SPLITS
) -> tuple:
    """The run's model and tokenizer, and `splits` encoded the way its task kind trains."""
    from loralens.models.load import load_tokenizer

    budgets = {k: getattr(cfg.task, k) for k in ("max_train", "max_val", "max_test")}
    tok = load_tokenizer(cfg.model.name)
    rows = kind.encode(data, tok, cfg.model.max_length, budgets, cfg.task.split_seed, splits)
    # the optimizer steps (AdaLoRA's schedule needs them) follow from the encoded train rows
    steps = total_training_steps(cfg, len(rows["train"]))
    words = data.prompt.choices if data.prompt else None
    model, tok = build_model(cfg, data.spec.num_labels, steps, data.spec.kind, words)
    return model, tok, rows


def _trainer(
    cfg, run: TrainingRun, device, kind: TaskKind, spec, model_tok, rows, extra: list
) -> GuardedTrainer:
    """The Trainer (early stopping, selection on val by the kind's selection metric) with `extra`
    callbacks."""
    model, tok = model_tok
    args = training_arguments(cfg, run.checkpoints, device, selection_metric(spec.primary_metric))
    callbacks = []
    if cfg.training.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(cfg.training.early_stopping_patience))
    callbacks += extra
    callbacks += get_method(cfg.method).callbacks()

    compute_metrics, preprocess = kind.trainer_metrics(spec)
    trainer = GuardedTrainer(
        model=model,
        args=args,
        train_dataset=rows["train"],
        eval_dataset=rows["val"],
        data_collator=kind.collator(tok),
        compute_metrics=compute_metrics,
        preprocess_logits_for_metrics=preprocess,
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(StderrLogCallback())
    return trainer


def _best_step(trainer: GuardedTrainer) -> int:
    """Global step of the checkpoint selected on val."""
    path = trainer.state.best_model_checkpoint
    return int(path.rsplit("-", 1)[1]) if path else trainer.state.global_step


def _save_weights(method: Method, model, tok, run: TrainingRun) -> None:
    """The adapter or the full model, as safetensors."""
    target = run.weights_dir(saves_adapter=method.saves_adapter)
    model.save_pretrained(target, safe_serialization=True)
    tok.save_pretrained(target)
    sort_module_lists(target / "adapter_config.json")


def trainer_args(args, run: TrainingRun) -> dict:
    """The Trainer's arguments as written to the run: paths inside the run folder relative to it
    (a rerun elsewhere writes the same bytes)."""
    out = args.to_dict()
    for key in ("output_dir", "logging_dir"):
        path = out.get(key)
        if isinstance(path, str) and Path(path).is_relative_to(run.root):
            out[key] = str(Path(path).relative_to(run.root))
    return out


def sort_module_lists(config: Path) -> None:
    """Sort an adapter_config.json's module-name lists in place (PEFT writes them in set order).

    PEFT keeps `target_modules` as a set and writes it in the order of string hashes, which
    differ between processes: the same training would write different bytes on each run.
    """
    if not config.is_file():
        return
    doc = json.loads(config.read_text())
    for key in ("target_modules", "modules_to_save", "exclude_modules"):
        if isinstance(doc.get(key), list):
            doc[key] = sorted(doc[key])
    config.write_text(json.dumps(doc, indent=2, sort_keys=True))  # PEFT's own format


def _log_record(history: list[dict]) -> dict:
    """Per-step training losses and the val curve from the Trainer's log history."""
    return {
        "train": [
            {"step": h["step"], "loss": h["loss"], "lr": h.get("learning_rate")}
            for h in history
            if "loss" in h
        ],
        "val": [h for h in history if any(k.startswith("eval_") for k in h)],
    }


def _data_record(data: TaskData, probe_sha: str, tok, encoded: dict) -> dict:
    """What data the run saw: split sizes, fingerprints, duplicates, probe set hash, the input
    its head read (prompt and label words, or plain), the examples cut to max_length and what
    its kind's encoding read of each split (`encoded`: test documents scored, answers lost)."""
    from loralens.models.heads import verbalizer

    s, prompt = data.splits, data.prompt
    return {
        "task": data.spec.name,
        "kind": data.spec.kind,
        "label_names": data.spec.label_names,
        "origin": data.origin,
        "sizes": {"train": len(s.train), "val": len(s.val), "test": len(s.test)},
        "splits_sha256": s.fingerprint(),
        "duplicates_removed": s.duplicates_removed,
        "probe_sha256": probe_sha,
        "head": {
            "mode": "fresh" if prompt is None else "prompt",
            "template": data.spec.input_template,
            "verbalizer": None if prompt is None else verbalizer(tok, prompt.choices),
        },
        "cut": data.cut,
        "encoded": encoded,
    }


def _tokens_per_s(train_rows: list[dict], trainer: GuardedTrainer, result) -> float | None:
    """Real (non-pad) training tokens processed per second of training."""
    runtime = result.metrics.get("train_runtime")
    if not runtime:
        return None
    per_example = np.mean([len(r["input_ids"]) for r in train_rows])
    args = trainer.args
    examples = trainer.state.global_step * args.per_device_train_batch_size
    return float(examples * args.gradient_accumulation_steps * per_example / runtime)
