"""Method variants side by side: accuracy and cost across seeds, Pareto front, AdaLoRA ranks.

Pure functions over the training runs the analysis stage collected; no I/O.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from loralens.task_metrics import get_metric

# Per-run cost fields of metrics.json (training/run.py), summarised across seeds.
COST_FIELDS = (
    "trainable_params",
    "trainable_share",
    "wall_time_s",
    "peak_rss_mb",
    "train_tokens_per_s",
)
PARETO_COST = "trainable_params"
_LAYER = re.compile(r"^(?P<prefix>.*?\.)?layers?\.(?P<layer>\d+)\.(?P<rest>.+)$")


def mean_sd(values: Iterable[Any]) -> dict[str, float | int | None]:
    """{'mean', 'sd', 'n'} over the finite values (sd: sample SD, None below two values)."""
    arr = np.array(
        [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)],
        dtype=float,
    )
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return {"mean": None, "sd": None, "n": 0}
    sd = float(arr.std(ddof=1)) if arr.size > 1 else None
    return {"mean": float(arr.mean()), "sd": sd, "n": int(arr.size)}


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """Whether each (cost, score) point is Pareto-optimal: no other has cost <= and score >=."""
    ok = [math.isfinite(c) and math.isfinite(s) for c, s in points]
    out = []
    for i, (c, s) in enumerate(points):
        dominated = any(
            ok[j] and j != i and c2 <= c and s2 >= s and (c2 < c or s2 > s)
            for j, (c2, s2) in enumerate(points)
        )
        out.append(ok[i] and not dominated)
    return out


def _summary_row(runs: list[dict]) -> dict[str, Any]:
    """One task x variant: test metrics and cost fields across seeds, with the run artifacts."""
    metrics = list(dict.fromkeys(m for r in runs for m in (r.get("test") or {})))
    return {
        "task": runs[0]["task"],
        "method": runs[0]["method"],
        "base_method": runs[0].get("base_method"),
        "seeds": [r.get("seed") for r in runs],
        "test": {m: mean_sd((r.get("test") or {}).get(m) for r in runs) for m in metrics},
        **{f: mean_sd(r.get(f) for r in runs) for f in COST_FIELDS},
        "artifact": [r.get("artifact") for r in runs],
    }


def variant_summary(runs: Sequence[dict], primary: dict[str, str]) -> list[dict[str, Any]]:
    """Per task x variant across seeds, marked on or off its task's Pareto front (`primary`)."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in sorted(runs, key=lambda r: r["seed"]):
        groups[(str(r["task"]), str(r["method"]))].append(r)
    rows = [_summary_row(g) for g in groups.values()]
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        metric = primary[task]
        sign = 1.0 if get_metric(metric).greater_is_better else -1.0  # the front maximises
        points = [
            (_or_nan(r[PARETO_COST]["mean"]), sign * _or_nan(r["test"].get(metric, {}).get("mean")))
            for r in mine
        ]
        for r, front in zip(mine, pareto_front(points), strict=True):
            r["pareto"] = {"cost": PARETO_COST, "metric": metric, "on_front": front}
    return rows


def _or_nan(x: Any) -> float:
    """A number, NaN for None."""
    return math.nan if x is None else float(x)


def split_module(name: str) -> tuple[int | None, str]:
    """'model.layers.3.self_attn.q_proj' -> (3, 'self_attn.q_proj'); (None, name) without one."""
    match = _LAYER.match(name)
    return (int(match["layer"]), match["rest"]) if match else (None, name)


def adalora_rank_rows(
    ident: dict[str, Any], pattern: dict[str, int], artifact: str
) -> list[dict[str, Any]]:
    """One row per module of an AdaLoRA run's final rank pattern (module -> kept rank)."""
    rows = []
    for module, rank in sorted(pattern.items()):
        layer, module_type = split_module(module)
        rows.append(
            {
                **ident,
                "module": module,
                "layer": layer,
                "module_type": module_type,
                "rank": int(rank),
                "artifact": artifact,
            }
        )
    return rows


def variant_settings(config: dict[str, Any], runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per study variant: its method, whether it trains an adapter, its resolved config and the
    learning rates its runs trained at (tuned values included)."""
    from loralens.config import validate_config, variant_config
    from loralens.methods import get_method

    if not config:
        return {}
    study = validate_config(config, "the study config")
    out = {}
    for name in study.study.methods:
        resolved = variant_config(study, name)
        rates = sorted({float(r["learning_rate"]) for r in runs if r["method"] == name})
        out[name] = {
            "method": resolved.method,
            "trains_adapter": get_method(resolved.method).saves_adapter,
            "quantized_base": resolved.quantized_base,
            "config": resolved.model_dump(mode="json"),
            "learning_rates": rates,
        }
    return out


def metric_readings() -> dict[str, dict[str, Any]]:
    """How every registered metric reads in a report: label, direction, percent, unit."""
    from loralens.task_metrics import METRICS

    return {
        name: {
            "label": m.shown_as,
            "greater_is_better": m.greater_is_better,
            "percent": m.percent,
            "unit": "" if m.percent else m.unit,
        }
        for name, m in METRICS.items()
    }
