"""Each task is shown in its own primary metric, as the analysis decided it."""

from __future__ import annotations

import copy

from loralens.report import extract as ex
from loralens.report import tables
from loralens.report.figures import drift_vs_performance, performance
from loralens.report.summary import summary_items
from loralens.results.schema import Results
from tests.unit.report._synthetic import typed


def _mixed(full: dict) -> Results:
    results = copy.deepcopy(full)
    for r in results["runs"]:
        if r["task"] == "mrpc":
            r["test"]["f1"] = r["test"]["accuracy"] - 0.1  # tell the two apart
    decided = {"rotten_tomatoes": "accuracy", "mrpc": "f1"}
    results["decisions"] = {**results["decisions"], "primary_metric": decided}
    return typed(results)


def test_tasks_with_different_primary_metrics_are_each_shown_in_theirs(full_dict: dict) -> None:
    results = _mixed(full_dict)
    assert ex.metric_names(results, ["mrpc", "rotten_tomatoes"]) == {
        "mrpc": "f1",
        "rotten_tomatoes": "accuracy",
    }
    table = tables.performance_table(results)
    assert (
        table is not None
        and "mrpc: F1" in table.title
        and "rotten_tomatoes: Accuracy" in (table.title)
    )
    column = table.columns.index("mrpc")
    row = next(r for r in table.rows if r[0] == "full-ft")
    f1 = ex.run_metric(results, "mrpc", "full-ft", "f1").mean
    assert row[column].startswith(f"{100 * f1:.1f}")
    assert any(i.startswith("F1 on mrpc") for i in summary_items(results))
    assert {p["metric"] for p in ex.drift_performance_pairs(results)} == {"f1", "accuracy"}
    assert performance(results) is not None and drift_vs_performance(results) is not None
