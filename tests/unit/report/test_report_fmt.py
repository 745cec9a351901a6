"""Number formatting: every kind of number reads sensibly; missing values read 'n/a'."""

from __future__ import annotations

import math

import pytest

from loralens.report import fmt


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: fmt.pct(0.8123), "81.2%"),
        (lambda: fmt.pct(-0.05, sign=True), "−5.0%"),
        (lambda: fmt.pct(None), "n/a"),
        (lambda: fmt.metric_pm("accuracy", 0.8123, 0.0132), "81.2% ± 1.3"),
        (lambda: fmt.metric_pm("accuracy", 0.8123, math.nan), "81.2%"),
        (lambda: fmt.metric_pm("mcc", 0.61, 0.02), "0.610 ± 0.020"),
        (lambda: fmt.metric_ci("accuracy", 0.578, [0.534, 0.621]), "57.8% [53.4, 62.1]"),
        (lambda: fmt.metric_ci("accuracy", 0.578, [None, 0.6]), "57.8%"),
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


def test_qa_metrics_read_as_percentages_from_the_registry() -> None:
    assert fmt.metric_pm("squad_f1", 0.625, 0.01) == "62.5% ± 1.0"
    assert fmt.metric_label("has_answer_exact") == "HasAns EM"
    assert not fmt.is_percent("answer_nll")
