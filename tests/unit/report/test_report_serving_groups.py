"""A study served in several adapter groups: one subsection, table set and figure set per group."""

from __future__ import annotations

import copy

from loralens.report.write import render_all
from tests.unit.report._synthetic import typed


def _grouped(full: dict) -> dict:
    """The synthetic results with their serving benchmark split into two head-size groups."""
    results = copy.deepcopy(full)
    (bench,) = results["serving"]
    groups = []
    for i, (tasks, labels) in enumerate(((["mrpc", "rte"], 2), (["news"], 5)), 1):
        info = {"id": f"serve/{labels}-labels", "num_labels": labels, "tasks": tasks, "runs": []}
        group = {**copy.deepcopy(bench), "group": info, "artifact": f"artifacts/serve-{i}"}
        for row in group["rows"]:  # make the groups' numbers tell apart
            row["overhead_vs_merged"] = (row.get("overhead_vs_merged") or 0.0) + i
        groups.append(group)
    results["serving"] = groups
    (verdict,) = results["serving_verdicts"]  # part C per group, as the analysis tests it
    results["serving_verdicts"] = [
        {**copy.deepcopy(verdict), "group": g["group"]["id"], "tasks": g["group"]["tasks"]}
        for g in groups
    ]
    return results


def test_each_group_gets_its_section_figures_and_tables(full_dict: dict) -> None:
    files = render_all(typed(_grouped(full_dict)))
    md = files["report.md"].decode()
    assert "#### Serving adapters of mrpc, rte (2 labels)" in md
    assert "#### Serving adapters of news (5 labels)" in md
    for key in ("serving_latency", "serving_overhead"):
        assert f"figures/{key}-1.png" in files and f"figures/{key}-2.png" in files
        assert f"figures/{key}.png" not in files
    tex = files["tables.tex"].decode()
    assert "(adapters of mrpc, rte (2 labels))" in tex and "(adapters of news (5 labels))" in tex
    summary = md.split("## ")[0]
    assert "(adapters of mrpc, rte (2 labels))." in summary
    assert "(adapters of news (5 labels))." in summary


def test_one_group_renders_as_before_and_names_what_it_served(full_dict: dict) -> None:
    grouped = _grouped(full_dict)
    grouped["serving"] = grouped["serving"][:1]
    files = render_all(typed(grouped))
    md = files["report.md"].decode()
    assert "Served: adapters of mrpc, rte (2 labels)." in md
    assert "figures/serving_latency.png" in files and "figures/serving_latency-1.png" not in files
