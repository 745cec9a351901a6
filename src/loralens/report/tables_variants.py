"""The cost-per-variant table and the caveats the variants call for (None / empty when no data)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loralens.report import extract_variants as xv
from loralens.report import fmt
from loralens.report.document import Table
from loralens.report.extract import Summary
from loralens.results.schema import Results, VariantRow

DASH = "—"


def _pm(s: Summary, show: Callable[[Any], str]) -> str:
    """'mean ± SD' with `show` for both, the mean alone below two seeds, a dash when empty."""
    if not s.n or not fmt.finite(s.mean):
        return DASH
    return f"{show(s.mean)} ± {show(s.sd)}" if fmt.finite(s.sd) else show(s.mean)


def _trainable(row: VariantRow) -> str:
    """'462.0k (0.34%)'."""
    params, share = xv.stat(row.trainable_params), xv.stat(row.trainable_share)
    if not fmt.finite(params.mean):
        return DASH
    if not fmt.finite(share.mean):
        return fmt.count(params.mean)
    return f"{fmt.count(params.mean)} ({fmt.pct(share.mean, 2 if share.mean < 0.1 else 0)})"


def cost_table(results: Results) -> Table | None:
    """Per task and variant: trainable parameters, time, memory, throughput, test score."""
    rows = xv.variant_rows(results)
    metric = xv.pareto_metric(rows)
    if not rows or metric is None:
        return None
    body = []
    for r in rows:
        score = xv.test_stat(r, metric)
        body.append(
            (
                r.task,
                r.method,
                r.base_method or DASH,
                str(score.n or len(r.seeds)),
                _trainable(r),
                _pm(xv.stat(r.wall_time_s), fmt.duration),
                _pm(xv.stat(r.peak_rss_mb), fmt.number),
                _pm(xv.stat(r.train_tokens_per_s), fmt.number),
                fmt.metric_pm(results.metric(metric), score.mean, score.sd) if score.n else DASH,
                "yes" if r.pareto.on_front else "",
            )
        )
    columns = (
        "Task",
        "Variant",
        "Method",
        "Seeds",
        "Trainable (share)",
        "Train time",
        "Peak RSS (MB)",
        "Tokens/s",
        f"Test {results.metric(metric).label.lower()}",
        "Pareto front",
    )
    note = (
        "Mean ± SD over seeds. Trainable: parameters the optimiser updates (share of all); "
        "AdaLoRA's are counted at init_r, before pruning (kept ranks: the heatmap). Train time: "
        "wall time of the training loop; tokens/s: training tokens per second. Peak RSS: the "
        "highest resident memory of the training run (model load, training, test evaluation). "
        "Pareto front: no other variant of the task has at most as many "
        "trainable parameters and at least the mean score, one of them strictly."
    )
    return Table("variants", "Cost per variant", columns, tuple(body), "lllr" + "r" * 6, note)


def variant_caveats(results: Results) -> list[str]:
    """Caveats due to the variants themselves (a variant's 4-bit base)."""
    quantized = xv.quantized_variants(results)
    if not quantized:
        return []
    return [
        f"{fmt.listing(quantized)}: trains its adapter on a 4-bit NF4-quantized base "
        "(bitsandbytes, fp32 compute), so its scores, time and memory are those of a quantized "
        "base, unlike the other methods' fp32 base."
    ]
