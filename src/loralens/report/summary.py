"""The 'what we found' box: short sentences from the verdicts and the headline numbers."""

from __future__ import annotations

from loralens.report import extract as ex
from loralens.report import extract_serving as sv
from loralens.report import extract_sparsity as sp
from loralens.report import extract_variants as xv
from loralens.report import fmt, verdicts
from loralens.results.schema import MetricReading, Results
from loralens.results.schema_over_baselines import BaselineDifference, OverBaselines


def _over_best(row: OverBaselines, metric: MetricReading) -> str:
    """'full-ft +20.5 pp over zero-shot [+19.0, +22.0]' (NLL: '… −0.120 nats against …')."""
    d = row.over_best
    if d is None:
        return f"{row.method}: no majority, random or zero-shot baseline to compare with"
    word = "over" if row.greater_is_better else "against"
    text = f"{row.method} {fmt.metric_difference(metric, d.estimate)} {word} {_name(d)}"
    if fmt.finite(d.ci_low) and fmt.finite(d.ci_high):
        low, high = (fmt.metric_difference(metric, x).split(" ")[0] for x in (d.ci_low, d.ci_high))
        text += f" [{low}, {high}]"
    else:
        text += f" ({d.interval.removeprefix('none: ')}: no interval)"
    if row.beats_majority is False:
        text += ", does not beat majority"
    return text


def _name(d: BaselineDifference) -> str:
    """A baseline's name as the report writes it: 'zero-shot'."""
    return d.baseline.replace("_", "-")


def _learned_items(results: Results) -> list[str]:
    """One line per task: each variant's test score minus the best baseline, with its CI."""
    rank = {m: i for i, m in enumerate(ex.methods(results))}
    items = []
    for task in ex.tasks(results):
        rows = sorted(
            (r for r in results.over_baselines if r.task == task), key=lambda r: rank[r.method]
        )
        if not rows:
            continue
        metric = results.metric(rows[0].metric)
        levels = {r.over_best.confidence_level for r in rows if r.over_best}
        level = f", {100 * levels.pop():.0f}% CI" if len(levels) == 1 else ""
        lower = "" if rows[0].greater_is_better else "; lower is better"
        what = f"{metric.label} on test, mean over seeds minus the best baseline"
        head = f"Learned on {task} ({what}{level}{lower})"
        unchecked = any(r.beats_majority is None for r in rows)
        tail = "; no majority baseline, so learning was not checked" if unchecked else ""
        items.append(f"{head}: {'; '.join(_over_best(r, metric) for r in rows)}{tail}.")
    return items


def _verdict_items(results: Results) -> list[str]:
    """One sentence per combined verdict (per task) with its parts; standalone verdicts after."""
    groups = verdicts.groups(results)
    if not groups:
        return ["No hypothesis verdicts in results.json: the hypothesis is not tested by this run."]
    items = []
    for v, parts in groups:
        task = verdicts.task_of(v)
        where = f"{task}: " if task else ""
        if v.status == "not applicable":
            items.append(f"{where}not applicable: {v.not_applicable_reason}.{verdicts.flag(v)}")
        elif parts:
            pair = (v.treatment, v.reference) if v.treatment and v.reference else ("LoRA", "full")
            details = "; ".join(verdicts.phrase(c, pair) for c in parts)
            said = f"{where}the hypothesis is {verdicts.status(v)}. Parts: {details}."
            items.append(said + verdicts.flag(v))
        else:
            items.append(f"{where}{verdicts.phrase(v)}.{verdicts.flag(v)}")
    return items


def _performance_item(results: Results, task: str, metric: str) -> str | None:
    """'Accuracy on rotten_tomatoes: full-ft 83.2% ± 0.4, lora-r8 ...; best baseline: ...'."""
    cells, counts, reading = [], set(), results.metric(metric)
    for method in ex.methods(results):
        s = ex.run_metric(results, task, method, metric)
        if s.n:
            cells.append(f"{method} {fmt.metric_pm(reading, s.mean, s.sd)}")
            counts.add(s.n)
    if not cells:
        return None
    seeds = f" ({fmt.plural(counts.pop(), 'seed')} each)" if len(counts) == 1 else ""
    # The best baseline as the analysis chose it (in the metric's direction), not re-derived.
    rows = [r.over_best for r in results.over_baselines if r.task == task and r.over_best]
    best = ""
    if rows:
        score = fmt.metric_value(reading, rows[0].baseline_score)
        best = f"; best baseline: {_name(rows[0])} {score}"
    return f"{reading.label} on {task}: {', '.join(cells)}{seeds}{best}."


def _drift_item(results: Results) -> str | None:
    """Mean drift per task and method, at the primary pooling."""
    pooling = ex.drift_pooling(results)
    by_task: dict[str, list[str]] = {}
    for (task, method, pool), s in ex.drift_summary(results).items():
        if pool == pooling and s.n:
            by_task.setdefault(task, []).append(f"{method} {fmt.number(s.mean, 2)}")
    if not by_task:
        return None
    parts = "; ".join(f"{t}: {', '.join(v)}" for t, v in by_task.items())
    where = ex.compared_label(results)
    return f"Drift (1 − debiased CKA, mean over layers, {pooling} pooling, {where}): {parts}."


def _serving_items(results: Results) -> list[str]:
    """One serving line per benchmark group, naming the group when there are several."""
    views = sv.views(results)
    out = []
    for label, view in views:
        if item := _serving_item(view):
            out.append(f"{item[:-1]} ({label})." if len(views) > 1 else item)
    return out


def _serving_item(results: Results) -> str | None:
    """Overhead per engine at the setting part C tested (K adapters mixed in one batch, its
    batch size and order): the paired ratio against each row's own baseline when timed in pairs,
    else p50 / p50."""
    tested = sv.tested_slice(results)  # the setting part C tested, as the analysis chose it
    if tested is None:
        return None
    workload, batch, k = tested.workload, tested.batch_size, tested.k_adapters
    order = tested.order or ""
    picked = [
        r
        for r in sv.serving_rows(results)
        if (r["workload"], r["batch_size"], r["k"]) == (workload, batch, k)
        and (r["order"] == order or not order)
        and r["sampling"] is not True
        and r["engine"] != sv.MERGED
        and fmt.finite(r["overhead"])
    ]
    if not picked:
        return None
    setting = f"({workload}, batch {batch:g}, {order.replace('_', '-')})"
    if all(r["paired"] for r in picked):
        cells = [_paired_cell(r) for r in picked]
        return (
            f"Serving {k:g} adapters mixed in one batch {setting}, paired ratio − 1 against "
            "merged weights serving one adapter's batch, timed around each call (Hodges–Lehmann "
            f"over {fmt.number(picked[0]['pairs'])} A-B-A pairs): {', '.join(cells)}."
        )
    cells = [f"{r['engine']} {fmt.pct(r['overhead'], sign=True)}" for r in picked]
    return (
        f"Serving {k:g} adapters mixed in one batch {setting}: p50 latency "
        f"{', '.join(cells)} against merged weights' p50 at K = 1."
    )


def _paired_cell(r: dict) -> str:
    """'peft-mixed +4.4% [−2.0%, +11.3%] (its baseline 432 ms)'."""
    low, high = (fmt.pct(r[k] - 1, sign=True) for k in ("ratio_low", "ratio_high"))
    level = f"{100 * r['ratio_level']:.0f}% CI " if fmt.finite(r["ratio_level"]) else ""
    return (
        f"{r['engine']} {fmt.pct(r['overhead'], sign=True)} ({level}[{low}, {high}]; its "
        f"baseline's median {fmt.number(r['baseline_median'])} ms)"
    )


def _sparsity_item(results: Results) -> str | None:
    """Mean effective rank of ΔW per method (and the LoRA rank)."""
    cells = []
    for (task, method), s in sp.sparsity_summary(results).items():
        rank = s["lora_rank"]
        of = f" of r = {rank.mean:g}" if rank.n else ""
        cells.append(f"{method} {fmt.number(s['effective_rank'].mean)}{of} ({task})")
    return f"Effective rank of ΔW: {', '.join(cells)}." if cells else None


def _pareto_item(results: Results) -> str | None:
    """The variants on each task's score/parameter Pareto front, fewest parameters first."""
    parts = []
    for task, points in xv.pareto_points(results).items():
        front = sorted((p for p in points if p["on_front"]), key=lambda p: p["params"])
        if len(points) > 1 and front:
            parts.append(f"{task}: {', '.join(p['method'] for p in front)}")
    if not parts:
        return None
    return f"Pareto front of score against trainable parameters: {'; '.join(parts)}."


def missing_sections(results: Results) -> list[str]:
    """Names of the major sections results.json lacks."""
    checks = {
        "trained runs": results.runs,
        "baselines": results.baselines,
        "drift": results.drift.rows or results.drift.summary,
        "serving": any(sv.serving_rows(v) or sv.memory(v) for _, v in sv.views(results)),
        "sparsity": results.sparsity.rows,
        "hypothesis verdicts": results.hypotheses,
    }
    return [name for name, present in checks.items() if not present]


def summary_items(results: Results) -> tuple[str, ...]:
    """The sentences of the summary box: what learned, then the verdicts."""
    items = _learned_items(results) + _verdict_items(results)
    # Numbers behind the verdicts, one line per question.
    for task, metric in ex.metric_names(results, ex.tasks(results)).items():
        items += [x for x in (_performance_item(results, task, metric),) if x]
    items += [x for x in (_drift_item(results),) if x]
    items += _serving_items(results)
    items += [x for x in (_sparsity_item(results), _pareto_item(results)) if x]
    missing = missing_sections(results)
    if missing:
        items.append(f"Not available in this run: {fmt.listing(missing)}.")
    return tuple(items)
