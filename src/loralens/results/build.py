"""Gather a study's artifacts into results.json: every number, its artifact, the statistics."""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from loralens.config_sections import ReportConfig
from loralens.kinds import selection_metric
from loralens.probing.pooling import DEFAULT_POOLING
from loralens.results.collect import ANALYSIS_ONLY, collect
from loralens.results.drift import (
    attach_val_scores,
    drift_by_seed,
    drift_decision,
    drift_note,
    drift_section,
    seed_note,
    seed_pairs_section,
    seed_reference,
)
from loralens.results.forgetting import forgetting_rows, forgetting_tests
from loralens.results.learning import (
    drift_at_matched_score,
    learning_rates,
    matched_note,
    rates_note,
)
from loralens.results.over_baselines import gate, over_baseline_rows, unlearned_tasks
from loralens.results.provenance import study_block
from loralens.results.schema import SCHEMA_VERSION, validate_results
from loralens.results.schema_tuning import tuning_rows
from loralens.results.serving import group_verdicts, serving_note, task_serving
from loralens.results.variants import metric_readings, variant_settings, variant_summary
from loralens.stats.hypotheses import Thresholds, evaluate_hypothesis, not_applicable
from loralens.task_metrics import get_metric


def clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become None, tuples become lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def encoder_detail(runs: list[dict]) -> str:
    """What the encoder baseline is: untuned (one rate set by hand), its rate, steps and seeds."""
    rates = ", ".join(f"{r:g}" for r in sorted({r["learning_rate"] for r in runs}))
    steps = ", ".join(str(s) for s in sorted({r["steps"] for r in runs}))
    return (
        f"fine-tuned encoder, untuned: learning rate {rates} set by hand "
        f"(study.encoder_learning_rate), not chosen on val like the decoders'; {steps} steps, "
        f"{len(runs)} seeds"
    )


def encoder_baselines(encoder_runs: list[dict]) -> list[dict]:
    """The encoder fine-tuning baseline per task: mean and std over seeds."""
    by_task: dict[str, list[dict]] = defaultdict(list)
    for run in encoder_runs:
        by_task[run["task"]].append(run)
    out = []
    for task, runs in by_task.items():
        metrics = runs[0]["test"].keys()
        out.append(
            {
                "task": task,
                "name": "encoder",
                "test": {m: float(np.mean([r["test"][m] for r in runs])) for m in metrics},
                "std": {
                    m: float(np.std([r["test"][m] for r in runs], ddof=1))
                    if len(runs) > 1
                    else None
                    for m in metrics
                },
                "ci": None,
                "detail": encoder_detail(runs),
                "artifact": [r["artifact"] for r in runs],
            }
        )
    return out


def sparsity_section(entries: list) -> dict[str, list]:
    """Per-matrix ΔW statistics of every run."""
    rows = []
    for (task, method, seed), data, artifact in entries:
        ident = {"task": task, "method": method, "seed": int(seed), "artifact": artifact}
        rows += [{**ident, **r} for r in data["rows"]]
    return {"rows": rows}


def build_results(params: dict[str, Any], inputs: dict[str, Path]) -> dict[str, Any]:
    """The results.json document (see docs/results-schema.md)."""
    from loralens.env import fingerprint
    from loralens.results.comparisons import (
        baseline_table,
        comparisons,
        shared_thresholds,
        study_statistics,
    )

    got = collect(inputs, params["cells"])
    runs = [{k: v for k, v in r.items() if k not in ANALYSIS_ONLY} for r in got["train"]]
    drift = drift_section(got["drift"])
    drift["seed_pairs"] = seed_pairs_section(got["seed_drift"])
    attach_val_scores(drift["summary"], got["train"], params["primary_metrics"])
    missing = params.get("missing") or {}
    results = {
        "schema_version": SCHEMA_VERSION,
        "study": study_block(params.get("config") or {}, params["tasks"], inputs, fingerprint()),
        "missing_stages": [{"stage": sid, "reason": why} for sid, why in missing.items()],
        "data": {task: stats for task, stats in got["data"]},
        "runs": runs,
        "baselines": baseline_table(got["baselines"]) + encoder_baselines(got["encoder"]),
        "drift": drift,
        "serving": got["serving"],
        "sparsity": sparsity_section(got["sparsity"]),
        "variants": {
            "rows": variant_summary(runs, params["primary_metrics"]),
            "adalora_ranks": got["adalora"],
        },
    }
    report = ReportConfig.model_validate(params["report"])
    th = Thresholds(
        drift_reduction=report.min_drift_reduction,
        serving_overhead=report.max_serving_overhead,
        alpha=report.alpha,
    )
    primary = params["primary_metrics"]
    margins = {task: report.margin(metric) for task, metric in primary.items()}
    study_cfg = (params.get("config") or {}).get("study") or {}
    order = study_cfg.get("methods") or list(dict.fromkeys(r["method"] for r in got["train"]))
    base_of = {r["method"]: r["base_method"] for r in got["train"]}
    pairs = comparisons(base_of, order, study_cfg.get("compare") or [])
    stats, verdict_inputs = study_statistics(got["train"], th, primary, pairs, margins)
    results["statistics"] = stats
    engine = params["report"]["serving_engine"]
    probing = (params.get("config") or {}).get("probing") or {}
    pooling = probing.get("pooling", DEFAULT_POOLING)
    failed_serving = {s: why for s, why in missing.items() if params["cells"][s]["kind"] == "serve"}
    results["decisions"] = {  # made here once; the report reads them and derives none
        "primary_metric": primary,
        "greater_is_better": {t: get_metric(m).greater_is_better for t, m in primary.items()},
        "thresholds": shared_thresholds(th),
        "margins": {
            task: {"metric": m, "margin": margins[task], "unit": get_metric(m).difference_unit}
            for task, m in primary.items()
        },
        "serving_engine": engine,
        "drift": drift_decision(drift["summary"], params["tasks"], pooling),
        "comparisons": [list(p) for p in pairs],
        "learning_rates": learning_rates(params.get("config") or {}, got["train"]),
        "selection_metric": {t: selection_metric(m) for t, m in primary.items()},
        "metrics": metric_readings(),
        "variants": variant_settings(params.get("config") or {}, got["train"]),
    }
    for task in params["tasks"]:
        greater = get_metric(primary[task]).greater_is_better
        matched = drift_at_matched_score(drift["summary"], task, pooling, greater)
        results["decisions"]["drift"]["matched_score"][task] = matched
        step = results["decisions"]["drift"]["step"].get(task)
        reference = seed_reference(drift["seed_pairs"], drift["summary"], task, pooling, step)
        results["decisions"]["drift"]["seed_reference"][task] = reference
    compared = results["decisions"]["drift"]
    # What learned, before any verdict: a comparison of a model that did not is not applicable.
    over = over_baseline_rows(got["train"], got["baselines"], primary, th.alpha)
    results["over_baselines"] = over
    unlearned = unlearned_tasks(over, list(verdict_inputs))
    results["serving_verdicts"] = group_verdicts(got["serving"], engine, th, unlearned)
    results["tuning"] = tuning_rows(params.get("config") or {})
    base = got.get("forgetting_base") or None
    rows = forgetting_rows(got["forgetting"], base)
    results["forgetting"] = {
        "base": base,
        "rows": rows,
        "tests": forgetting_tests(rows, pairs, th.alpha),
    }
    results["hypotheses"] = []
    for (task, *pair), acc in verdict_inputs.items():
        served = bool(params["config"]["serving"]["engines"])
        samples, reason = task_serving(got["serving"], task, engine, failed_serving, served)
        step = compared["step"].get(task)
        drift_args = {"drift_reason": compared["not_compared"].get(task, "")}
        dr = {"treatment": [], "reference": []}
        if step is not None:
            dr = drift_by_seed(drift["summary"], task, pair, pooling, step)
            drift_args["drift_note"] = "; ".join(
                [
                    drift_note(drift["summary"], task, pair, pooling, step),
                    *matched_note(compared["matched_score"][task], pair),
                    *seed_note(compared["seed_reference"][task], pair),
                    rates_note(results["decisions"]["learning_rates"], task),
                ]
            )
        metric = primary[task]
        verdict = evaluate_hypothesis(
            acc,
            dr,
            samples,
            thresholds=dataclasses.replace(th, accuracy_margin=margins[task]),
            serving_reason=reason,
            serving_note=serving_note(got["serving"], task, engine),
            metric=metric,
            greater_is_better=get_metric(metric).greater_is_better,
            examples=acc["examples"],
            names=(pair[0], pair[1]),
            **drift_args,
        )
        why, below = gate(over, task, pair)
        verdict = not_applicable(verdict, why) if why else verdict
        comparison = {"treatment": pair[0], "reference": pair[1], "below_zero_shot": below}
        results["hypotheses"].append({"task": task, **comparison, **verdict.to_dict()})
    results = clean(results)
    validate_results(results)  # the producer and the schema agree, or the analysis fails here
    return results
