"""Number formatting: every kind of number reads sensibly; missing values read 'n/a'."""

from __future__ import annotations

import math

import pytest

from loralens.report import fmt
from loralens.results.schema import MetricReading
from loralens.results.variants import metric_readings

# How each metric reads, as the analysis writes it to decisions.metrics.
M = {name: MetricReading(**m) for name, m in metric_readings().items()}


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: fmt.pct(0.8123), "81.2%"),
        (lambda: fmt.pct(-0.05, sign=True), "−5.0%"),
        (lambda: fmt.pct(None), "n/a"),
        (lambda: fmt.metric_pm(M["accuracy"], 0.8123, 0.0132), "81.2% ± 1.3"),
        (lambda: fmt.metric_pm(M["accuracy"], 0.8123, math.nan), "81.2%"),
        (lambda: fmt.metric_pm(M["mcc"], 0.61, 0.02), "0.610 ± 0.020"),
        (lambda: fmt.metric_ci(M["accuracy"], 0.578, [0.534, 0.621]), "57.8% [53.4, 62.1]"),
        (lambda: fmt.metric_ci(M["accuracy"], 0.578, [None, 0.6]), "57.8%"),
        (lambda: fmt.points(-0.0073), "−0.7 pp"),
        (lambda: fmt.pvalue(0.0032), "0.0032"),
        (lambda: fmt.pvalue(1e-7), "< 0.0001"),
        (lambda: fmt.pvalue(None), "n/a"),
        (lambda: fmt.number(134.5), "134"),
        (lambda: fmt.number(0.03125), "0.0312"),
        (lambda: fmt.number(4825.3), "4,825"),
        (lambda: fmt.count(134_977_536), "135.0M"),
        (lambda: fmt.duration(812.3), "13.5 min"),
        (lambda: fmt.spread(0.00041), "0.0004"),
        (lambda: fmt.listing(["a", "b", "c"]), "a, b and c"),
        (lambda: fmt.num(True), math.nan),
    ],
)
def test_formats(call, expected) -> None:
    got = call()
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected


def test_qa_and_lm_metrics_read_as_the_analysis_decided() -> None:
    assert fmt.metric_pm(M["squad_f1"], 0.625, 0.01) == "62.5% ± 1.0"
    assert M["has_answer_exact"].label == "HasAns EM"
    assert fmt.metric_difference(M["answer_nll"], -0.12) == "−0.120 nats"
    assert fmt.metric_difference(M["exact_match"], 0.031) == "+3.1 pp"
    assert fmt.metric_difference(M["mcc"], 0.031) == "+0.031"  # a unitless score
