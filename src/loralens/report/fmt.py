"""Number formatting for the report: one place decides how every kind of number reads."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loralens.results.schema import MetricReading

NA = "n/a"


def minus(text: str) -> str:
    """A formatted number with a typographic minus sign (U+2212)."""
    return text.replace("-", "−")


def num(x: Any) -> float:
    """`x` as a float, NaN for None, non-numbers and booleans."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return math.nan
    return float(x)


def finite(x: Any) -> bool:
    """Whether `x` is a finite number."""
    return math.isfinite(num(x))


def pct(x: Any, digits: int = 1, sign: bool = False) -> str:
    """A fraction as a percentage: 0.8123 -> '81.2%'."""
    v = num(x)
    if not math.isfinite(v):
        return NA
    return minus(f"{100 * v:+.{digits}f}%" if sign else f"{100 * v:.{digits}f}%")


def number(x: Any, digits: int = 3) -> str:
    """A plain number with `digits` significant digits (thousands separated when large)."""
    v = num(x)
    if not math.isfinite(v):
        return NA
    if v != 0 and abs(v) >= 10 ** (digits - 1):
        return minus(f"{v:,.0f}")
    return minus(f"{v:.{digits}g}") if v != 0 else "0"


def fixed(x: Any, decimals: int = 3) -> str:
    """A number with a fixed number of decimals."""
    v = num(x)
    return minus(f"{v:.{decimals}f}") if math.isfinite(v) else NA


def points(x: Any, digits: int = 1) -> str:
    """A difference of fractions in signed percentage points: -0.0073 -> '−0.7 pp'."""
    v = num(x)
    return minus(f"{100 * v:+.{digits}f} pp") if math.isfinite(v) else NA


def spread(x: Any) -> str:
    """An SD next to a 3-decimal mean: 3 decimals, or 1 significant digit when tiny."""
    v = num(x)
    if not math.isfinite(v):
        return NA
    return fixed(v) if abs(v) >= 0.001 or v == 0 else minus(f"{v:.1g}")


def integer(x: Any) -> str:
    """An integer with thousands separators."""
    v = num(x)
    return f"{v:,.0f}" if math.isfinite(v) else NA


def count(x: Any) -> str:
    """A large count in compact form: 134977536 -> '135.0M'."""
    v = num(x)
    if not math.isfinite(v):
        return NA
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.1f}{suffix}"
    return f"{v:.0f}"


def pvalue(p: Any) -> str:
    """A p-value: two significant digits, '< 0.0001' below that."""
    v = num(p)
    if not math.isfinite(v):
        return NA
    return "< 0.0001" if v < 1e-4 else f"{v:.2g}"


def duration(seconds: Any) -> str:
    """Seconds as '812 s', '13.5 min' or '2.1 h'."""
    v = num(seconds)
    if not math.isfinite(v):
        return NA
    if v < 120:
        return f"{v:.0f} s"
    return f"{v / 60:.1f} min" if v < 7200 else f"{v / 3600:.1f} h"


def metric_value(metric: MetricReading, x: Any) -> str:
    """One value of a metric: a percentage or a 3-decimal number."""
    return pct(x) if metric.percent else fixed(x)


def metric_difference(metric: MetricReading, x: Any) -> str:
    """A signed difference in the metric's own unit: '+20.5 pp', '−0.120 nats', '+0.153'."""
    if not finite(x):
        return NA
    if metric.percent:
        return points(x)
    unit = f" {metric.unit}" if metric.unit else ""
    return minus(f"{num(x):+.3f}") + unit


def metric_pm(metric: MetricReading, mean: Any, sd: Any) -> str:
    """Mean ± spread of a metric: '81.2% ± 1.3' (percentage points) or '0.612 ± 0.020'."""
    if not finite(mean):
        return NA
    if not finite(sd):
        return metric_value(metric, mean)
    spread = f"{100 * num(sd):.1f}" if metric.percent else fixed(sd)
    return f"{metric_value(metric, mean)} ± {spread}"


def metric_ci(metric: MetricReading, value: Any, ci: Sequence[Any] | None) -> str:
    """A value with its CI: '57.8% [53.4, 62.1]'."""
    if not finite(value):
        return NA
    if not ci or len(ci) != 2 or not (finite(ci[0]) and finite(ci[1])):
        return metric_value(metric, value)
    if metric.percent:
        return minus(f"{pct(value)} [{100 * num(ci[0]):.1f}, {100 * num(ci[1]):.1f}]")
    return f"{fixed(value)} [{fixed(ci[0])}, {fixed(ci[1])}]"


def interval(lo: Any, hi: Any, as_pct: bool = False) -> str:
    """A bare interval: '[0.031, 0.047]' or '[12.0%, 18.5%]'."""
    if not (finite(lo) or finite(hi)):
        return NA
    show = pct if as_pct else number
    low = show(lo) if finite(lo) else "−∞"
    high = show(hi) if finite(hi) else "∞"
    return f"[{low}, {high}]"


def plural(n: int, word: str) -> str:
    """'1 seed', '3 seeds'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def listing(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def metrics_title(per_task: dict[str, MetricReading]) -> str:
    """'F1' when every task has it, else 'primary metric (mrpc: F1; sst2: Accuracy)'."""
    names = {m.label for m in per_task.values()}
    if len(names) == 1:
        return names.pop()
    listed = "; ".join(f"{t}: {m.label}" for t, m in per_task.items())
    return f"primary metric ({listed})"
