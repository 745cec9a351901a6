"""Figures: drawn exactly when their data exists, labelled, in the colour-blind-safe palette."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from loralens.report.figures import FIGURES
from loralens.report.plotstyle import OKABE_ITO, style
from loralens.results.schema import Results
from tests.unit.report._synthetic import NOT_IN_FULL, typed, without

BY_KEY = {s.key: s for s in FIGURES}


@pytest.mark.parametrize("key", ["performance", "drift_by_layer", "serving_overhead"])
def test_figure_is_labelled(full: Results, key: str) -> None:
    with style():
        fig = BY_KEY[key].draw(full)
    assert isinstance(fig, Figure)
    assert fig.get_suptitle()
    for ax in fig.axes:
        if ax.get_visible() and ax.get_label() != "<colorbar>":
            assert ax.get_xlabel() and ax.get_ylabel()
    colours = {line.get_color() for ax in fig.axes for line in ax.get_lines()}
    assert colours & {c.lower() for c in OKABE_ITO} or colours & set(OKABE_ITO)


def test_only_performance_is_drawn_for_runs_only(minimal: Results) -> None:
    with style():
        drawn = [s.key for s in FIGURES if s.draw(minimal) is not None]
    assert drawn == ["performance"]


@pytest.mark.parametrize(
    ("section", "keys"),
    [
        (
            "drift",
            {
                "drift_by_layer",
                "cka_heatmap",
                "drift_over_steps",
                "drift_vs_val",
                "drift_vs_performance",
                "forgetting_vs_drift",
            },
        ),
        ("forgetting", {"forgetting_vs_drift"}),
        ("serving", {"serving_latency", "serving_overhead", "serving_memory"}),
        ("sparsity", {"sparsity_rank"}),
        ("variants", {"variants_pareto"}),
    ],
)
def test_removing_a_section_removes_its_figures(full_dict: dict, section: str, keys: set) -> None:
    results = typed(without(full_dict, section))
    with style():
        drawn = {s.key for s in FIGURES if s.draw(results) is not None}
    assert drawn == {s.key for s in FIGURES} - keys - NOT_IN_FULL


def test_serving_without_memory_block_drops_only_the_memory_figure(full_dict: dict) -> None:
    (group,) = full_dict["serving"]
    results = typed({**full_dict, "serving": [{**group, "memory": {}}]})
    with style():
        assert BY_KEY["serving_memory"].draw(results) is None
        assert BY_KEY["serving_latency"].draw(results) is not None
