"""Serving numbers under names that say what they are: paired ratios beside their own baseline,
no "(+x%)" beside a number it was not computed from, serving verdicts with their role and α."""

from __future__ import annotations

import copy

from loralens.report import summary, verdicts
from loralens.report import tables_serving as ts
from tests.unit.report._synthetic import typed

PAIRED = {
    "hodges_lehmann": 1.044,
    "ci_low": 0.98,
    "ci_high": 1.113,
    "confidence_level": 0.95,
    "median": 1.045,
    "geometric_mean": 1.051,
    "pairs": 20,
    "baseline_median_ms": 432.0,
    "baseline_calls_median_ms": 430.0,
    "design": "A-B-A",
}


def _paired(full: dict) -> dict:
    """The synthetic results with the forward K = 2 round-robin rows timed in A-B-A pairs."""
    results = copy.deepcopy(full)
    (bench,) = results["serving"]
    for row in bench["rows"]:
        if (row["workload"], row["k_adapters"], row["order"]) == ("forward", 2, "round_robin"):
            row["paired_ratio"] = PAIRED
            row["warmup"] = {"calls": 4, "stable": True, "spread": 0.03}
            row["overhead_vs_merged"] = PAIRED["hodges_lehmann"] - 1
    bench["noise_floor"] = [
        {
            "workload": "forward",
            "batch_size": 8,
            "baseline_median_ms": {"K = 1, single": 378.0, "K = 2, round_robin": 432.0},
            "relative_spread": 0.134,
            "detail": "",
        }
    ]
    return results


def test_a_paired_row_shows_its_own_baseline_and_its_ratio(full_dict: dict) -> None:
    results = typed(_paired(full_dict))
    table = ts.paired_table(results)
    assert table is not None
    (row,) = [r for r in table.rows if r[3] == "peft-mixed"]
    assert row[:3] == ("16", "2", "round-robin")
    assert row[5] == "432" and row[6] == "×1.044 [0.980, 1.113]"
    assert row[8] == "20" and row[9] == "4"
    # the mixed table shows the paired row's latency alone: its overhead is not against K = 1
    mixed = ts.mixed_table(results)
    assert mixed is not None
    mine = [r for r in mixed.rows if r[:4] == ("forward", "16", "round-robin", "peft-mixed")]
    k2 = mine[0][mixed.columns.index("K = 2")]
    assert k2.endswith(" ms") and "(" not in k2
    assert "Noise floor" in " ".join(ts.extra_items(results)) and "13.4% apart" in " ".join(
        ts.extra_items(results)
    )


def test_the_summary_names_the_paired_ratio_and_its_baseline(full_dict: dict) -> None:
    items = summary.summary_items(typed(_paired(full_dict)))
    (line,) = [i for i in items if i.startswith("Serving 2 adapters")]
    assert "paired ratio − 1" in line and "20 A-B-A pairs" in line
    assert "(Hodges–Lehmann over 20 A-B-A pairs)" in line
    assert "peft-mixed +4.4% (95% CI [−2.0%, +11.3%]; its baseline's median 432 ms)" in line


def test_serving_verdicts_carry_their_role_and_alpha(full_dict: dict) -> None:
    results = typed(full_dict)
    labels = [label for label, _ in verdicts.chips(results)]
    assert any(lb.startswith("Serving (inside H, α/2 = 0.025)") for lb in labels)
    assert any(lb.startswith("Serving (alone, α = 0.05) · study level") for lb in labels)
    assert not any(lb.startswith("Serving ·") for lb in labels)
    table = verdicts.hypotheses_table(results)
    assert table is not None
    names = [r[1] for r in table.rows if r[1].startswith("Serving")]
    assert names and all(n.endswith(("inside H, α/2 = 0.025", "alone, α = 0.05")) for n in names)
