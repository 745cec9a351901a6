"""report.md and tables.tex: same content in Markdown, booktabs tables with proper escaping."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loralens.report.document import Table
from loralens.report.latex import render_latex, render_table, tex_escape
from loralens.report.markdown import md_escape
from loralens.results.schema import Results


def test_markdown_links_every_figure(full_run: tuple[Path, dict]) -> None:
    run, _ = full_run
    md = (run / "report.md").read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", md)
    assert sorted(links) == sorted(f"figures/{p.name}" for p in (run / "figures").glob("*.png"))
    assert all((run / link).is_file() for link in links)
    assert "data:image" not in md


def test_markdown_has_the_sections_and_tables(full_run: tuple[Path, dict]) -> None:
    md = (full_run[0] / "report.md").read_text(encoding="utf-8")
    for heading in (
        "## Questions",
        "## Setup",
        "## Data",
        "## Results",
        "### Task performance",
        "### Representation drift",
        "### Serving cost",
        "### Sparsity of the update",
        "## Hypotheses and verdicts",
        "## Environment",
    ):
        assert f"\n{heading}\n" in md, heading
    assert "> **What we found**" in md and "> **⚠ Caveats**" in md
    assert "| Model | rotten\\_tomatoes | mrpc |" in md
    assert "NOT SUPPORTED" in md and "SUPPORTED" in md


def test_markdown_missing_sections(minimal_run: tuple[Path, dict]) -> None:
    md = (minimal_run[0] / "report.md").read_text(encoding="utf-8")
    assert "*Serving results: not available" in md
    assert "*Drift: not available" in md


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("a|b", r"a\|b"), ("x_y*z", r"x\_y\*z"), ("<b>", r"\<b\>"), ("two\nlines", "two lines")],
)
def test_md_escape(text: str, escaped: str) -> None:
    assert md_escape(text) == escaped


def test_latex_tables_are_booktabs(full_run: tuple[Path, dict]) -> None:
    tex = (full_run[0] / "tables.tex").read_text(encoding="utf-8")
    n_tables = tex.count(r"\begin{table}")
    # performance, details, drift, serving x2, sparsity, intruders, variants, hypotheses
    assert n_tables == 9
    for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\end{tabular}", r"\end{table}"):
        assert tex.count(rule) == n_tables, rule
    for label in ("performance", "drift", "serving", "hypotheses"):
        assert rf"\label{{tab:loralens-{label}}}" in tex
    body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
    assert not re.search(r"(?<!\\)[%&_#]", body.replace(" & ", " ").replace(r"\\", ""))
    assert tex.count("{") == tex.count("}")
    assert "±" not in tex and "$\\pm$" in tex


def test_latex_states_what_is_missing(minimal: Results) -> None:
    tex = render_latex(minimal)
    assert tex.count(r"\toprule") == 2  # performance and details only
    for what in ("Drift summary", "Serving latency", "Sparsity", "Cost per variant", "Hypotheses"):
        assert f"% {what}: not available" in tex


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("rotten_tomatoes", r"rotten\_tomatoes"),
        ("100% & more", r"100\% \& more"),
        ("$#{}", r"\$\#\{\}"),
        ("a\\b", r"a\textbackslash{}b"),
        ("~^", r"\textasciitilde{}\textasciicircum{}"),
        ("82.5% ± 0.5", r"82.5\% $\pm$ 0.5"),
        ("−0.7 pp ≥ −3", r"$-$0.7 pp $\geq$ $-$3"),
    ],
)
def test_tex_escape(text: str, escaped: str) -> None:
    assert tex_escape(text) == escaped


def test_render_table_escapes_every_cell() -> None:
    table = Table("x_y", "Score & more", ("task_name", "acc %"), (("my_task", "50% & up"),), "lr")
    tex = render_table(table)
    assert r"\caption{Score \& more}" in tex and r"\label{tab:loralens-x-y}" in tex
    assert r"task\_name & acc \% \\" in tex and r"my\_task & 50\% \& up \\" in tex
    assert r"\begin{tabular}{lr}" in tex
