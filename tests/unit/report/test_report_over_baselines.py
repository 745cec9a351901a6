"""The summary leads with what learned and states why a verdict is not applicable."""

from __future__ import annotations

import pytest

from loralens.report.content import build_document
from loralens.report.markdown import render_markdown
from loralens.report.summary import summary_items
from loralens.results.schema import Results
from tests.unit.report._produced import produce
from tests.unit.report._synthetic import minimal_dict, synthetic_dict, typed, unlearnable


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """A study whose task mrpc no model learned (rotten_tomatoes learned), as analysed."""
    return typed(
        produce(tmp_path_factory.mktemp("unlearnable"), unlearnable(synthetic_dict(), "mrpc"))
    )


def test_the_summary_leads_with_each_variant_over_the_best_baseline(planted: Results) -> None:
    items = summary_items(planted)
    assert items[0].startswith(
        "Learned on rotten_tomatoes (Accuracy on test, mean over seeds minus the best baseline, "
        "90% CI): full-ft +2"  # planted: ~83% against zero-shot's ~62%
    )
    assert " over zero-shot [+" in items[0] and "; lora-r8 +" in items[0]
    assert (
        items[1].startswith("Learned on mrpc (") and items[1].count("does not beat majority") == 2
    )


def test_the_not_applicable_reason_is_at_the_top_of_the_report(planted: Results) -> None:
    items = summary_items(planted)
    line = next(i for i in items if i.startswith("mrpc · lora-r8 vs full-ft: "))
    assert line.startswith("mrpc · lora-r8 vs full-ft: not applicable: lora-r8 does not beat the ")
    assert "full-ft does not beat the majority baseline" in line
    assert line.endswith(
        "Flag: lora-r8's and full-ft's mean test scores are below the zero-shot baseline."
    )
    assert not any(i.startswith("mrpc · lora-r8 vs full-ft: the hypothesis is") for i in items)
    md = render_markdown(build_document(planted, ()))
    top = md[: md.index("\n## ")]  # the summary and caveats, before the first section
    assert "mrpc · lora-r8 vs full-ft: not applicable: lora-r8 does not beat the" in top
    assert "⊘ Overall · mrpc · lora-r8 vs full-ft: **not applicable**" in top


def test_a_lower_is_better_metric_reads_in_its_own_unit() -> None:
    diff = {"baseline": "zero_shot", "baseline_score": 3.0, "estimate": -0.2, "ci_low": -0.25}
    diff |= {"ci_high": -0.15, "confidence_level": 0.9, "p_value": 0.01, "interval": "t"}
    row = {"task": "rotten_tomatoes", "method": "full-ft", "metric": "nll"}
    row |= {"greater_is_better": False, "n_seeds": 3, "mean": 2.8, "versus": {"zero_shot": diff}}
    row |= {"best_baseline": "zero_shot", "over_best": diff, "beats_majority": None}
    results = typed({**minimal_dict(), "over_baselines": [{**row, "below_zero_shot": False}]})
    assert summary_items(results)[0] == (
        "Learned on rotten_tomatoes (NLL on test, mean over seeds minus the best baseline, 90% "
        "CI; lower is better): full-ft −0.200 nats against zero-shot [−0.250, −0.150]; no "
        "majority baseline, so learning was not checked."
    )
