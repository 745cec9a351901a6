"""report.html: self-contained, every section and figure, numbers as in results.json, escaped."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

from loralens.report.content import build_document
from loralens.report.figures import FIGURES
from loralens.report.html import render_html
from tests.unit.report._synthetic import NOT_IN_FULL, typed
from tests.unit.report.conftest import html_tables

SECTIONS = (
    "summary",
    "caveats",
    "questions",
    "setup",
    "data",
    "results",
    "performance",
    "drift",
    "serving",
    "sparsity",
    "statistics",
    "hypotheses",
    "environment",
)


def _html(run: tuple[Path, dict]) -> str:
    return (run[0] / "report.html").read_text(encoding="utf-8")


def _num(cell: str) -> float:
    """The first number in a cell ('82.5% ± 0.5' -> 82.5), typographic minus allowed."""
    match = re.search(r"[-+]?\d[\d,]*\.?\d*", cell.replace("−", "-"))
    assert match, cell
    return float(match.group().replace(",", ""))


def _accuracy(results: dict, task: str, method: str) -> list[float]:
    return [
        r["test"]["accuracy"]
        for r in results["runs"]
        if r["task"] == task and r["method"] == method
    ]


def test_html_is_self_contained(full_run: tuple[Path, dict]) -> None:
    html = _html(full_run)
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    assert "url(" not in html
    assert re.search(r"Content-Security-Policy.*default-src 'none'", html)


def test_every_section_present(full_run: tuple[Path, dict]) -> None:
    html = _html(full_run)
    for ident in SECTIONS:
        assert f'id="{ident}"' in html, ident


def test_one_embedded_image_per_figure_with_data(
    full_run: tuple[Path, dict], minimal_run: tuple[Path, dict]
) -> None:
    for run in (full_run, minimal_run):
        html = _html(run)
        n_figures = len(list((run[0] / "figures").glob("*.png")))
        assert html.count("<img ") == n_figures
        assert html.count('src="data:image/png;base64,') == n_figures
    assert _html(full_run).count("<img ") == len(FIGURES) - len(NOT_IN_FULL)
    assert _html(minimal_run).count("<img ") == 1


def test_performance_numbers_match_results(full_run: tuple[Path, dict], full_dict: dict) -> None:
    table = html_tables(_html(full_run))["performance"]
    header, rows = table[0], {r[0]: r for r in table[1:]}
    for task in ("rotten_tomatoes", "mrpc"):
        values = _accuracy(full_dict, task, "lora-r8")
        cell = rows["lora-r8"][header.index(task)]
        assert _num(cell) == pytest.approx(100 * statistics.mean(values), abs=0.05)
        assert _num(cell.split("±")[1]) == pytest.approx(100 * statistics.stdev(values), abs=0.05)
    majority = next(b for b in full_dict["baselines"] if b["name"] == "majority")
    cell = rows["majority (baseline)"][header.index(majority["task"])]
    lo, hi = (float(x) for x in re.findall(r"[\d.]+", cell.split("[")[1]))
    assert (lo, hi) == pytest.approx([100 * x for x in majority["ci"]["accuracy"]], abs=0.05)


def test_drift_and_serving_numbers_match_results(
    full_run: tuple[Path, dict], full_dict: dict
) -> None:
    tables = html_tables(_html(full_run))
    drift = {(r[0], r[1]): r for r in tables["drift"][1:]}
    per_seed = [
        s["mean_drift"]
        for s in full_dict["drift"]["summary"]
        if s["task"] == "mrpc" and s["method"] == "full-ft" and s["selected"]
    ]
    assert _num(drift[("mrpc", "full-ft")][3]) == pytest.approx(statistics.mean(per_seed), abs=5e-4)
    serving = {(r[0], r[1]): r for r in tables["serving"][1:]}
    row = next(
        r
        for r in full_dict["serving"][0]["rows"]
        if r["engine"] == "fused"
        and r["workload"] == "forward"
        and r["batch_size"] == 4
        and r["k_adapters"] == 1
    )
    assert _num(serving[("fused", "4")][2]) == pytest.approx(row["latency_ms"]["p50"], rel=5e-3)
    assert _num(serving[("fused", "4")][-1]) == pytest.approx(
        100 * row["overhead_vs_merged"], abs=0.05
    )


def test_hypotheses_rendered_with_status_and_numbers(
    full_run: tuple[Path, dict], full_dict: dict
) -> None:
    html = _html(full_run)
    for verdict in full_dict["hypotheses"]:
        status = verdict["status"].replace(" ", "-")
        assert f'<div class="verdict {status}">' in html
        for part in verdict["components"]:
            assert f"{100 * part['estimate']:.1f}" in html.replace("−", "-")
            assert part["sentence"].split(":")[0] in html
    assert html.count('class="badge') >= len(full_dict["hypotheses"]) * 4


def test_caveats_and_summary_are_prominent(full_run: tuple[Path, dict], full_dict: dict) -> None:
    html = _html(full_run)
    summary = html.index('id="summary"')
    caveats = html.index('id="caveats"')
    assert summary < caveats < html.index('id="questions"')
    for caveat in full_dict["study"]["caveats"]:
        assert caveat.replace("&", "&amp;") in html
    assert "4-bit-quantized" in html


def test_missing_sections_say_not_available(minimal_run: tuple[Path, dict]) -> None:
    html = _html(minimal_run)
    for what in (
        "Drift",
        "Serving results",
        "Sparsity results",
        "Verdicts",
        "Baselines",
        "Dataset statistics",
        "Environment",
        "Statistics",
    ):
        assert f"{what}: not available" in html, what
    assert "Not available in this run: baselines, drift, serving, sparsity and hypothesis" in html


def test_all_text_is_escaped(minimal_dict_: dict) -> None:
    evil = "<script>alert('x')</script> & \"q\""
    minimal = minimal_dict_
    results = {**minimal, "study": {**minimal["study"], "name": evil, "caveats": [evil]}}
    results["runs"] = [
        {**r, "method": evil} if i == 0 else r for i, r in enumerate(minimal["runs"])
    ]
    html = render_html(build_document(typed(results), set()), {})
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;" in html
