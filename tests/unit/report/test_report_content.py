"""The document: summary from verdicts and numbers, verdict forms, 'not available' statements."""

from __future__ import annotations

import pytest

from loralens.report import fmt, verdicts
from loralens.report.content import build_document
from loralens.report.document import Callout, Missing, Section, Table, VerdictCard
from loralens.report.summary import summary_items
from loralens.results.schema import Results
from loralens.stats import Thresholds, evaluate_hypothesis
from tests.unit.report._synthetic import empty_results, minimal_dict, typed, without


def _blocks(section: Section) -> list:
    return [*section.blocks, *(b for s in section.subsections for b in _blocks(s))]


def _with_hypotheses(verdicts: list[dict]) -> Results:
    """A study of runs alone with these verdicts."""
    return typed({**minimal_dict(), "hypotheses": verdicts})


def _all_blocks(results: Results) -> list:
    doc = build_document(results, set())
    return [*doc.lead, *(b for s in doc.sections for b in _blocks(s))]


def _verdict(lora_drift: list[float]) -> dict:
    v = evaluate_hypothesis(
        {"treatment": [0.80, 0.81, 0.82], "reference": [0.81, 0.82, 0.815]},
        {"treatment": lora_drift, "reference": [0.10, 0.11, 0.12]},
        None,
        thresholds=Thresholds(),
    )
    return v.to_dict()


def test_schema_form_parts_then_combined_is_not_duplicated() -> None:
    combined = _verdict([0.05, 0.052, 0.055])
    results = _with_hypotheses([*combined["components"], combined])  # parts, then combined
    cards = verdicts.cards(results)
    assert len(cards) == 1 and len(cards[0].parts) == 3
    chips = [c[0] for c in verdicts.chips(results)]
    assert chips == ["Overall", "Performance", "Drift", "Serving (inside H, α/2 = 0.025)"]
    table = verdicts.hypotheses_table(results)
    assert table is not None and len(table.rows) == 4


def test_per_task_form_names_the_task() -> None:
    results = _with_hypotheses(
        [
            {"task": "sst2", **_verdict([0.05, 0.052, 0.055])},
            {"task": "rte", **_verdict([0.09, 0.1, 0.13])},
        ]
    )
    cards = verdicts.cards(results)
    assert [c.name.split(" · ")[-1] for c in cards] == ["sst2", "rte"]
    assert all(p.name.endswith(f" · {c.name.split(' · ')[-1]}") for c in cards for p in c.parts)
    labels = [c[0] for c in verdicts.chips(results)]
    assert labels[:2] == ["Overall · sst2", "Performance · sst2"] and len(labels) == 8
    serving = cards[0].parts[2]
    assert serving.status == "inconclusive" and dict(serving.facts)["Estimate"] == "n/a"


def test_summary_is_generated_from_verdicts_and_numbers(full: Results) -> None:
    items = summary_items(full)
    for v in full.hypotheses:  # the analysis names each verdict's task and comparison
        where = f"{v.task} · {v.treatment} vs {v.reference}"
        line = next(i for i in items if i.startswith(f"{where}: the hypothesis is"))
        assert v.status in line
        drift = next(c for c in v.components if c.name.startswith("Drift"))
        assert f"drift reduction {100 * drift.estimate:.1f}%" in line
    assert any(i.startswith("Accuracy on rotten_tomatoes: full-ft ") for i in items)
    assert any(i.startswith("Drift (1 − debiased CKA") for i in items)
    assert any(i.startswith("Serving 2 adapters mixed in one batch") for i in items)
    assert not any(i.startswith("Not available") for i in items)


def test_summary_names_what_is_missing(minimal: Results) -> None:
    items = summary_items(minimal)
    assert items[0].startswith("No hypothesis verdicts")
    assert items[-1] == (
        "Not available in this run: baselines, drift, serving, sparsity and hypothesis verdicts."
    )


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        ("drift", "Drift: not available"),
        ("serving", "Serving results: not available"),
        ("sparsity", "Sparsity results: not available"),
        ("hypotheses", "Verdicts: not available"),
        ("statistics", "Statistics: not available"),
        ("data", "Dataset statistics: not available"),
        ("baselines", "Baselines: not available"),
        ("runs", "Task performance: not available"),
    ],
)
def test_each_missing_section_is_stated(
    full: Results, full_dict: dict, drop: str, expected: str
) -> None:
    results = typed(without(full_dict, drop))
    missing = [b.text for b in _all_blocks(results) if isinstance(b, Missing)]
    assert any(m.startswith(expected) for m in missing), missing
    present = [b.text for b in _all_blocks(full) if isinstance(b, Missing)]
    assert not any(m.startswith(expected) for m in present)


def test_full_document_has_cards_tables_and_caveats(full: Results) -> None:
    blocks = _all_blocks(full)
    keys = {b.key for b in blocks if isinstance(b, Table)}
    assert {
        "setup",
        "data",
        "performance",
        "details",
        "drift",
        "controls",
        "serving",
        "serving_mixed",
        "serving_memory",
        "serving_correctness",
        "sparsity",
        "tests",
        "anova-accuracy",
        "power",
        "environment",
    } <= keys
    cards = sum(isinstance(b, VerdictCard) for b in blocks)
    assert cards == len(full.hypotheses) + len(full.serving_verdicts)
    caveats = next(b for b in blocks if isinstance(b, Callout) and b.kind == "caveat")
    assert caveats.items == tuple(full.study.caveats)


def test_empty_results_still_build() -> None:
    doc = build_document(empty_results(), set())
    assert doc.title == "loralens report: unnamed study"
    assert any(isinstance(b, Missing) for s in doc.sections for b in _blocks(s))


def test_drift_summary_uses_the_compared_step(full: Results, full_dict: dict) -> None:
    from loralens.report.extract import drift_summary

    drift = full_dict["drift"]
    rows = [{**r, "selected": False, "step": 40} for r in drift["summary"] if r["selected"]]
    early = [{**r, "selected": False, "step": 10, "mean_drift": 9.0} for r in rows]
    results = typed({**full_dict, "drift": {**drift, "summary": [*early, *rows]}})
    assert drift_summary(results) == drift_summary(full)


def test_setup_and_data_do_not_claim_every_test_split_is_official(full: Results) -> None:
    # rotten_tomatoes has no official test split: its test part is carved and held out.
    from loralens.report.content import setup_section
    from loralens.report.document import Paragraph
    from loralens.report.tables import data_table

    text = " ".join(b.text for b in setup_section(full).blocks if isinstance(b, Paragraph))
    assert "held-out part for a task without one" in text
    table = data_table(full)
    assert table is not None and "unless the task's notes say otherwise" in table.note


def test_setup_shows_each_methods_own_learning_rate_and_no_lora_keys_for_full(
    full_dict: dict,
) -> None:
    # The quickstart trains full-ft and LoRA at their own rates through study.variants: the
    # setup table must not print the base config's 1e-3 as if every method used it, and shows
    # the rate a run trained at when a search tuned it (decisions.variants, as trained).
    from loralens.report.tables_stats import setup_table
    from loralens.results.variants import variant_settings

    study = full_dict["study"]
    trained = [
        {"method": "full-ft", "learning_rate": 5e-5},
        {"method": "lora-r8", "learning_rate": 1e-3},
    ]

    def typed_with(config: dict) -> Results:
        decisions = {**full_dict["decisions"], "variants": variant_settings(config, trained)}
        return typed({**full_dict, "study": {**study, "config": config}, "decisions": decisions})

    config = {
        **study["config"],
        "method": "lora",
        "study": {
            "methods": ["full-ft", "lora-r8"],
            "variants": {
                "full-ft": {"method": "full", "training": {"learning_rate": 5e-5}},
                "lora-r8": {"method": "lora", "training": {"learning_rate": 1e-3}},
            },
        },
    }
    rows = dict(setup_table(typed_with(config)).rows)
    assert rows["Learning rate"] == "full-ft: 5e-05; lora-r8: 0.001"
    assert rows["LoRA rank"] == "8"  # only lora-r8 has LoRA settings
    assert rows["Batch size"] == "16"
    full_only = {**config, "study": {**config["study"], "methods": ["full-ft"]}}
    rows = dict(setup_table(typed_with(full_only)).rows)
    assert "LoRA rank" not in rows and rows["Learning rate"] == "5e-05"
    trained[1]["learning_rate"] = 2.56e-3  # tuned on val: the config still says 1e-3
    rows = dict(setup_table(typed_with(config)).rows)
    assert rows["Learning rate"] == "full-ft: 5e-05; lora-r8: 0.00256"


def test_summary_keeps_small_drifts_apart(full_dict: dict) -> None:
    # A quickstart's drifts are ~1e-3 and ~3e-4: three decimals would print 0.001 and 0.000.
    scale = {"full-ft": 0.0012, "lora-r8": 0.00031}
    drift = full_dict["drift"]
    summary = [{**s, "mean_drift": scale[s["method"]]} for s in drift["summary"]]
    items = summary_items(typed({**full_dict, "drift": {**drift, "summary": summary}}))
    line = next(i for i in items if i.startswith("Drift (1 − debiased CKA"))
    assert "full-ft 0.0012" in line and "lora-r8 0.00031" in line


def test_intruders_are_shown_per_module_type_against_their_chance_level(full: Results) -> None:
    from loralens.report.tables import intruder_table
    from loralens.sparsity.intruders import chance_intruders

    table = intruder_table(full)
    assert table is not None and table.columns[4] == "Intruders ε = 0.5"
    by_type = {(r[0], r[1], r[2]): r for r in table.rows}
    kinds = {k for _, _, k in by_type}
    assert kinds == {"q_proj", "v_proj"}  # never averaged over shapes
    for (_, _, kind), row in by_type.items():
        shape = (576, 576) if kind == "q_proj" else (192, 576)
        assert float(row[5]) == pytest.approx(chance_intruders(shape, 10, (0.5,))[0.5], abs=0.01)


def test_tests_table_shows_the_crossed_per_example_test_read_from_results(full: Results) -> None:
    from loralens.report.tables_stats import tests_table

    table = tests_table(full)
    crossed = [r for r in table.rows if r[2].startswith("paired crossed seeds x examples")]
    assert len(crossed) == len(full.statistics.accuracy)
    for row, entry in zip(crossed, full.statistics.accuracy, strict=True):
        assert row[0] == entry.task and row[2].endswith(", Accuracy")
        assert row[5] == fmt.pvalue(entry.per_example.p_value)
    assert "new seeds and new examples" in table.note


@pytest.mark.parametrize(
    ("metric", "unit", "shown"), [("nll", "nats", "−0.031 nats"), ("squad_f1", "pp", "−3.1 pp")]
)
def test_comparisons_read_in_their_metrics_own_unit(full_dict, metric, unit, shown) -> None:
    # A 0.031-nat NLL difference is not "+3.1 pp": the unit comes from decisions.metrics, by
    # the comparison's metric, never from the estimate's label.
    from loralens.report.tables_stats import tests_table

    comparison = dict(full_dict["statistics"]["accuracy"][0], metric=metric)
    comparison["welch"] = {**comparison["welch"], "estimate": -0.031, "ci_low": -0.05}
    comparison["welch"]["ci_high"] = -0.01
    stats = {**full_dict["statistics"], "accuracy": [comparison]}
    table = tests_table(typed({**full_dict, "statistics": stats}))
    welch = next(r for r in table.rows if r[2].startswith("Welch"))
    assert welch[3] == shown and welch[4].endswith(unit)
    hedges = next(r for r in table.rows if "g" in r[2] and "Hedges" in r[2])
    assert not hedges[3].endswith(("pp", "nats"))  # standardized: no unit


def test_serving_is_one_study_level_verdict_read_by_every_tasks_h(full: Results) -> None:
    from loralens.report.verdicts import cards, hypotheses_table

    assert len(full.serving_verdicts) == 1
    study = full.serving_verdicts[0]
    assert study.tasks and study.confidence_level == pytest.approx(1 - 2 * study.alpha)
    titled = [c for c in cards(full) if "study level" in c.name]
    assert len(titled) == 1 and ", ".join(study.tasks) in titled[0].name
    for h in full.hypotheses:
        part = next(c for c in h.components if c.name.startswith("Serving"))
        assert part.estimate == pytest.approx(study.estimate)  # the same measurement
        assert f"study-level serving result of {study.group}" in part.sentence
    assert "study-level measurement" in hypotheses_table(full).note


def test_setup_shows_the_steps_the_runs_took(full_dict: dict) -> None:
    # max_steps = -1 (epochs) says nothing of how long the runs trained: the steps taken do.
    from loralens.report.tables_stats import setup_table

    runs = full_dict["runs"]
    same = typed({**full_dict, "runs": [{**r, "steps": 30} for r in runs]})
    assert dict(setup_table(same).rows)["Training steps taken"] == "30"
    early = [
        {**r, "steps": 30 if r["method"] != runs[0]["method"] or i else 20}
        for i, r in enumerate(runs)
    ]  # one seed of the first method stopped early
    text = dict(setup_table(typed({**full_dict, "runs": early})).rows)["Training steps taken"]
    assert f"{runs[0]['method']}: 20–30" in text


def test_drift_table_says_whose_last_layer_it_shows(full: Results) -> None:
    from loralens.report import fmt
    from loralens.report.extract import drift_pooling
    from loralens.report.tables import drift_table

    table = drift_table(full)
    pooling = drift_pooling(full)
    assert f"Last layer: given for the compared pooling, {pooling}" in table.note
    assert all(row[4] != fmt.NA for row in table.rows if row[2] == pooling)


def test_part_a_names_the_crossed_test_that_decided_it(full: Results) -> None:
    # Accuracy is a mean of per-example scores: the analysis decided A by crossing examples with
    # runs, and the verdict's facts say so (the report derives nothing).
    for v in full.hypotheses:
        part_a = v.components[0]
        # both methods have the same seeds: the runs pair by seed
        assert part_a.test.startswith("paired crossed seeds x examples non-inferiority")
        assert dict(verdicts.facts(part_a))["Test"] == part_a.test
        assert "seeds (paired by seed) x 1000 test examples" in part_a.sentence
        assert "allowed >= -0.03 = -3.0 points)" in part_a.sentence
        margin = full.decisions.margins[v.task]
        assert (margin.metric, margin.margin, margin.unit) == ("accuracy", 0.03, "points")


def test_margins_are_printed_in_each_metrics_unit() -> None:
    # A 0.03 margin is 3 points of accuracy and 0.03 nats of NLL: the question section says
    # which, from decisions.margins (the analysis' decision), and part A's numbers carry it.
    from loralens.report.content import margins_text

    d = minimal_dict()
    d["decisions"]["margins"] = {
        "sst2": {"metric": "accuracy", "margin": 0.03, "unit": "points"},
        "speeches": {"metric": "nll", "margin": 0.05, "unit": "nats"},
    }
    assert margins_text(typed(d)) == "3 points (accuracy), 0.05 nats (nll)"
    d["decisions"]["margins"] = {"sst2": d["decisions"]["margins"]["sst2"]}
    assert margins_text(typed(d)) == "3 points"
    lm = evaluate_hypothesis(
        {"treatment": [3.10, 3.12, 3.11], "reference": [3.08, 3.09, 3.07]},
        {"treatment": [0.1, 0.11, 0.12], "reference": [0.2, 0.21, 0.22]},
        thresholds=Thresholds(accuracy_margin=0.05),
        metric="nll",
        greater_is_better=False,
    ).components[0]
    assert "allowed >= -0.05 nats)" in lm.sentence
    assert lm.metric_unit == "nats"
    assert verdicts.threshold(typed_verdict(lm)) == "≥ −0.05 nats"


def typed_verdict(v) -> object:
    """A stats Verdict as the report reads it (the results schema's model)."""
    from loralens.results.schema_stats import Verdict

    return Verdict.model_validate(v.to_dict())


def test_a_comparison_of_two_adapters_is_named_by_its_variants_not_lora_and_full() -> None:
    # dora vs lora-r8: the sentences and counts name the two variants, never "LoRA - full".
    v = evaluate_hypothesis(
        {"treatment": [0.80, 0.81, 0.82], "reference": [0.80, 0.80, 0.81], "paired": True},
        {"treatment": [0.1, 0.11, 0.12], "reference": [0.2, 0.21, 0.22], "paired": True},
        names=("dora", "lora-r8"),
    )
    part_a = v.components[0]
    assert "accuracy, mean dora - lora-r8" in part_a.sentence
    assert "3 dora vs 3 lora-r8 seeds (paired by seed)" in part_a.sentence
    assert "LoRA" not in part_a.sentence.split(":")[1]
    results = _with_hypotheses([{"task": "t", "treatment": "dora", "reference": "lora-r8",
                                 **v.to_dict()}])  # fmt: skip
    (item,) = [i for i in summary_items(results) if i.startswith("t · dora vs lora-r8: the")]
    assert "primary metric of dora − lora-r8" in item and "LoRA − full" not in item
