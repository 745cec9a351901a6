"""A synthetic variants study: rank ablation, AdaLoRA and QLoRA next to full fine-tuning.

Accuracies, costs and AdaLoRA ranks are planted so that the tests know the answers; the variants
section (and everything else the analysis decides) is built by the real producer from the
study's artifacts (`_produced.produce`), as `loralens run` would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loralens.results.schema import SCHEMA_VERSION, Results, validate_results
from loralens.results.variants import adalora_rank_rows, metric_readings
from tests.unit.report._produced import produce
from tests.unit.report._synthetic import EMPTY, THRESHOLDS, _study, run_row

TASK = "rte"
SEEDS = (1, 2)
TOTAL = 1_000_000
# variant: (base method, accuracy per seed, trainable parameters)
VARIANTS = {
    "full-ft": ("full", (0.66, 0.70), TOTAL),
    "lora-r4": ("lora", (0.62, 0.64), 1_000),
    "lora-r8": ("lora", (0.60, 0.62), 2_000),  # dominated by lora-r4
    "lora-r16": ("lora", (0.64, 0.66), 4_000),
    "adalora": ("adalora", (0.64, 0.64), 3_000),  # between lora-r4 and lora-r16: on the front
    "qlora-r8": ("qlora", (0.59, 0.61), 2_000),  # dominated by lora-r4
}
FRONT = {"full-ft", "lora-r4", "lora-r16", "adalora"}
LAYERS = (0, 1, 2)
MODULES = ("self_attn.q_proj", "self_attn.v_proj")


def planted_rank(layer: int, module: str, seed: int) -> int:
    """AdaLoRA's kept rank: mean over seeds 1, 2 is layer + 2 (q) or layer + 4 (v)."""
    return layer + (1 if module.endswith("q_proj") else 3) + (seed - 1) * 2


def _runs() -> list[dict[str, Any]]:
    """One run per variant and seed with planted accuracy and cost."""
    runs = []
    for method, (base, accs, params) in VARIANTS.items():
        for seed, acc in zip(SEEDS, accs, strict=True):
            runs.append(
                run_row(
                    task=TASK,
                    method=method,
                    base_method=base,
                    seed=seed,
                    test={"accuracy": acc, "f1": acc - 0.05},
                    trainable_params=params,
                    total_params=TOTAL,
                    trainable_share=params / TOTAL,
                    wall_time_s=100.0 * seed,
                    train_tokens_per_s=300.0,
                    peak_rss_mb=900.0 if base == "qlora" else 1200.0,
                    artifact=f"artifacts/train-{method}-{seed}",
                )
            )
    return runs


def _adalora_ranks() -> list[dict[str, Any]]:
    """Rank rows of the AdaLoRA runs, as the analysis collects them."""
    rows = []
    for seed in SEEDS:
        pattern = {
            f"model.layers.{la}.{m}": planted_rank(la, m, seed) for la in LAYERS for m in MODULES
        }
        ident = {"task": TASK, "method": "adalora", "seed": seed}
        rows += adalora_rank_rows(ident, pattern, f"artifacts/train-adalora-{seed}/ranks.json")
    return rows


def variant_dict() -> dict[str, Any]:
    """results.json of the variants study: study block, runs, majority baseline, variants."""
    runs = _runs()
    config = {"study": {"tasks": [TASK], "methods": list(VARIANTS), "seeds": list(SEEDS)}}
    config["study"]["variants"] = {name: {"method": v[0]} for name, v in VARIANTS.items()}
    study = {
        **_study(),
        "name": "variants_synthetic",
        "config": config,
        "tasks": [TASK],
        "methods": list(VARIANTS),
        "seeds": list(SEEDS),
        "caveats": [],
    }
    majority = {"task": TASK, "name": "majority", "test": {"accuracy": 0.53}, "detail": "always 1"}
    return {
        "schema_version": SCHEMA_VERSION,
        "study": study,
        "missing_stages": [],
        **EMPTY,
        "runs": runs,
        "baselines": [{**majority, "ci": None, "std": None, "artifact": "artifacts/baselines"}],
        "variants": {"rows": [], "adalora_ranks": _adalora_ranks()},
        "decisions": {
            "primary_metric": {TASK: "accuracy"},
            "greater_is_better": {TASK: True},
            "thresholds": THRESHOLDS,
            "margins": {TASK: {"metric": "accuracy", "margin": 0.03, "unit": "points"}},
            "serving_engine": "peft-mixed",
            "drift": {"measure": "1 - debiased CKA", "pooling": "mean", "step": {TASK: None},
                      "not_compared": {TASK: "no drift stage"}},
            "comparisons": [],
            "selection_metric": {TASK: "accuracy"}, "metrics": metric_readings(), "variants": {},
        },
    }  # fmt: skip


def variant_results(root: Path) -> Results:
    """The variants study's results.json, built by the analysis from artifacts under `root`."""
    return validate_results(produce(root, variant_dict()))
