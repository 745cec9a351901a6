"""The report shows drift where the analysis compared it (decisions.drift) and flags dominated
layers, without re-deciding either."""

from __future__ import annotations

import copy

from loralens.report import extract as ex
from loralens.report import tables
from loralens.report.content import build_document
from loralens.results.schema import Results
from tests.unit.report._synthetic import typed


def _decided(full: dict, step: int = 20, dominated_at: int = 20) -> Results:
    """`full` with a drift decision at `step` and per-step summaries, layers 3-5 dominated."""
    results = copy.deepcopy(full)
    summary = []
    for r in results["drift"]["rows"]:
        r["selected"] = False
    steps = sorted({r["step"] for r in results["drift"]["rows"]})
    for task in {r["task"] for r in results["drift"]["rows"]}:
        for s in steps:
            for method in ("full-ft", "lora-r8"):
                for seed in (42, 1337, 2024):
                    summary.append(
                        {
                            "task": task,
                            "method": method,
                            "seed": seed,
                            "pooling": "mean",
                            "step": s,
                            "selected": False,
                            "mean_drift": 0.001 * s * (2 if method == "full-ft" else 1),
                            "max_drift": 0.002 * s,
                            "mean_drift_biased": 0.001 * s,
                            "layers": 31,
                            "dominated_layers": [3, 4, 5] if s == dominated_at else [],
                        }
                    )
    results["drift"]["summary"] = summary
    tasks = sorted({r["task"] for r in summary})
    results["decisions"] = {
        **results["decisions"],
        "drift": {
            "measure": "1 - debiased CKA",
            "pooling": "mean",
            "step": dict.fromkeys(tasks, step),
            "not_compared": {},
        },
    }
    return typed(results)


def test_drift_is_shown_at_the_decided_step(full_dict: dict) -> None:
    results = _decided(full_dict, step=20)
    assert ex.compared_label(results) == "step 20"
    cells = ex.drift_summary(results)
    assert {round(s.mean, 6) for (_, m, _), s in cells.items() if m == "full-ft"} == {0.04}
    by_layer = ex.drift_by_layer(results)
    rows = [r for r in results.drift.rows if r.step == 20]
    assert by_layer and all(len(v["layer"]) == 31 for v in by_layer.values())
    assert {r.step for r in ex.drift_rows(results, compared_only=True)} == {20} and rows


def test_dominated_layers_are_flagged_in_table_and_caveats(full_dict: dict) -> None:
    results = _decided(full_dict, step=20)
    table = tables.drift_table(results)
    assert table is not None and "step 20" in table.title
    assert "layers 3, 4, 5" in table.note and "One principal component" in table.note
    doc = build_document(results, figures=())
    caveats = next(b for b in doc.lead if b.kind == "caveat").items
    assert any("layers 3, 4, 5" in c and "attention sink" in c for c in caveats)
    undominated = _decided(full_dict, step=30, dominated_at=20)  # flagged where not compared
    assert ex.dominated_layers(undominated) == {}
