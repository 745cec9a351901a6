"""Two-way ANOVA against a published textbook example."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from loralens.stats import two_way_anova

# Montgomery, Design and Analysis of Experiments (Wiley), Example 5.1, the battery design
# experiment: life (hours) of batteries for 3 plate materials x 3 temperatures (15, 70, 125 F),
# 4 batteries per cell. Published ANOVA (Table 5.5): SS material 10683.72, temperature
# 39118.72, interaction 9613.78, error 18230.75; F = 7.91, 28.97, 3.56 on (2, 2, 4; 27) df;
# p = 0.0020, < 0.0001, 0.0186.
LIFE = [
    [[130, 155, 74, 180], [34, 40, 80, 75], [20, 70, 82, 58]],
    [[150, 188, 159, 126], [136, 122, 106, 115], [25, 70, 58, 45]],
    [[138, 110, 168, 160], [174, 120, 150, 139], [96, 104, 82, 60]],
]


def _battery() -> pd.DataFrame:
    rows = [
        {"life": life, "material": m + 1, "temperature": temp}
        for m, by_temp in enumerate(LIFE)
        for temp, cell in zip((15, 70, 125), by_temp, strict=True)
        for life in cell
    ]
    return pd.DataFrame(rows)


def test_montgomery_battery_example():
    table = two_way_anova(_battery(), response="life", factor_a="material", factor_b="temperature")
    published = {
        "material": (10683.72, 2, 7.91, 0.0020),
        "temperature": (39118.72, 2, 28.97, None),
        "material:temperature": (9613.78, 4, 3.56, 0.0186),
    }
    for term, (ss, df, f, p) in published.items():
        row = table.row(term)
        assert row.sum_sq == pytest.approx(ss, abs=0.01)
        assert row.df == df
        assert row.f_value == pytest.approx(f, abs=0.005)
        if p is not None:
            assert row.p_value == pytest.approx(p, abs=5e-5)
    assert table.row("temperature").p_value < 1e-4
    resid = table.row("Residual")
    assert resid.sum_sq == pytest.approx(18230.75, abs=0.01)
    assert resid.df == 27
    # Partial eta squared = SS_effect / (SS_effect + SS_error).
    assert table.row("material").partial_eta_sq == pytest.approx(10683.72 / (10683.72 + 18230.75))
    assert table.n_obs == 36


def test_accepts_mapping_and_default_names():
    data = {
        "score": [0.80, 0.82, 0.85, 0.86, 0.70, 0.71, 0.76, 0.78],
        "method": ["lora", "lora", "full", "full"] * 2,
        "task": ["mrpc"] * 4 + ["rte"] * 4,
    }
    table = two_way_anova(data)
    assert [r.term for r in table.rows] == ["method", "task", "method:task", "Residual"]
    d = table.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["rows"][-1]["f_value"] is None  # NaN for the residual row becomes null


def test_additive_model_without_interaction():
    table = two_way_anova(_battery(), response="life", factor_a="material",
                          factor_b="temperature", interaction=False)  # fmt: skip
    assert [r.term for r in table.rows] == ["material", "temperature", "Residual"]


def test_rejects_empty_cells_missing_replication_and_nan():
    frame = _battery()
    with pytest.raises(ValueError, match="cell"):
        two_way_anova(frame[~((frame.material == 1) & (frame.temperature == 15))],
                      response="life", factor_a="material", factor_b="temperature")  # fmt: skip
    one_per_cell = frame.groupby(["material", "temperature"]).head(1)
    with pytest.raises(ValueError, match="residual degrees of freedom"):
        two_way_anova(one_per_cell, response="life", factor_a="material", factor_b="temperature")
    frame.loc[0, "life"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        two_way_anova(frame, response="life", factor_a="material", factor_b="temperature")
    with pytest.raises(ValueError, match="missing columns"):
        two_way_anova(frame, response="accuracy")
