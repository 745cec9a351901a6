"""Tuning figures: drawn from results.json's tuning block when a search was applied, never
otherwise."""

from __future__ import annotations

from loralens.report.figures import FIGURES, draw_figures
from loralens.results.schema import Results
from tests.unit.report._synthetic import minimal_dict, typed

BY_KEY = {s.key: s for s in FIGURES}


def _tuned(importance: dict[str, float]) -> Results:
    """A minimal study whose two variants were tuned on val by a search of four trials."""
    history = [
        {"number": 0, "state": "complete", "value": 0.61},
        {"number": 1, "state": "pruned", "value": 0.52},
        {"number": 2, "state": "complete", "value": 0.66},
        {"number": 3, "state": "complete", "value": 0.64},
    ]
    rows = [
        {
            "task": "rotten_tomatoes", "method": m, "params": {"learning_rate": 1e-4},
            "metric": "accuracy", "best_val": 0.66, "trials": 4, "pruned": 1,
            "file": f"hpo/rotten_tomatoes/{m}.json", "sha256": "0" * 64,
            "history": history, "importance": importance,
        }
        for m in ("full-ft", "lora-r8")
    ]  # fmt: skip
    return typed({**minimal_dict(), "tuning": rows})


def test_history_and_importance_are_drawn_from_the_tuning_block() -> None:
    drawn = draw_figures(_tuned({"learning_rate": 0.7, "warmup_ratio": 0.3}))
    assert {"tuning_history", "tuning_importance"} <= set(drawn)
    fig = BY_KEY["tuning_history"].draw(_tuned({}))
    (ax,) = [a for a in fig.axes if a.get_visible() and a.get_title()]
    steps = [line for line in ax.get_lines()]
    assert list(steps[0].get_ydata()) == [0.61, 0.61, 0.66, 0.66]  # best so far, pruned included


def test_no_search_no_tuning_figures() -> None:
    results = typed(minimal_dict())
    assert BY_KEY["tuning_history"].draw(results) is None
    assert BY_KEY["tuning_importance"].draw(results) is None
    assert BY_KEY["tuning_importance"].draw(_tuned({})) is None  # importance not computed
