"""The report's content: a `Document` built from the results and the figures that exist."""

from __future__ import annotations

from collections.abc import Collection

from loralens.report import extract as ex
from loralens.report import extract_serving as sv
from loralens.report import extract_variants as xv
from loralens.report import fmt, tables, tables_stats, verdicts
from loralens.report import forgetting as fg
from loralens.report import tables_serving as ts
from loralens.report import tables_variants as tv
from loralens.report.document import (
    Block,
    Bullets,
    Callout,
    Document,
    FigureRef,
    Missing,
    Paragraph,
    Section,
    Table,
)
from loralens.report.figures import FIGURES
from loralens.report.summary import summary_items
from loralens.results.schema import Results
from loralens.results.schema_stats import NotComputed

QUESTIONS = (
    (
        "Drift. ",
        "Does LoRA preserve the pretrained model's internal representations better than "
        "full fine-tuning? Measured as layer-wise debiased linear CKA between the base model "
        "and each fine-tuned model on a fixed probe set, over training steps, compared at a "
        "step every run reached, with controls.",
    ),
    (
        "Deployment. ",
        "What does serving several LoRA adapters side by side (unmerged, mixed in "
        "one batch) cost against merged weights? Latency percentiles, throughput and memory.",
    ),
    (
        "Sparsity. ",
        "How much of its rank does a weight update use? Singular-value spectra, "
        "effective rank and intruder dimensions of ΔW for LoRA and full fine-tuning.",
    ),
)


def missing(what: str, why: str) -> Missing:
    """The standard 'not available' statement."""
    return Missing(f"{what}: not available — {why}")


def _figures(section: str, available: Collection[str]) -> list[Block]:
    """References to the section's figures that were drawn, in report order."""
    return [
        FigureRef(s.key, s.caption) for s in FIGURES if s.section == section and s.key in available
    ]


def _table_or(table: Table | None, what: str, why: str) -> list[Block]:
    """The table, or the statement that it is not available."""
    return [table] if table is not None else [missing(what, why)]


def _thresholds(results: Results) -> tuple[str, str, str]:
    """The hypothesis thresholds the analysis used, as text."""
    used = results.decisions.thresholds
    drift, serving = used["drift_reduction"], used["serving_overhead"]
    return margins_text(results), fmt.pct(drift, 0), fmt.pct(serving, 0)


def margins_text(results: Results) -> str:
    """Part A's margins as the analysis decided them, each in its unit: '3.0 points (accuracy,
    f1), 0.03 nats (nll)'."""
    by_text: dict[str, list[str]] = {}
    for m in results.decisions.margins.values():
        scale = 100 if m.unit == "points" else 1
        by_text.setdefault(f"{scale * m.margin:g} {m.unit}", []).append(m.metric)
    if len(by_text) == 1 and len(set(next(iter(by_text.values())))) == 1:
        return next(iter(by_text))
    return ", ".join(f"{t} ({', '.join(sorted(set(ms)))})" for t, ms in by_text.items()) or fmt.NA


def question_section(results: Results) -> Section:
    """The research questions and the hypothesis under test."""
    acc, drift, serving = _thresholds(results)
    hypothesis = Paragraph(
        f"H = A and (B or C), per task and comparison. A: LoRA's test score on the task's "
        f"primary metric is at most {acc} worse than full fine-tuning's (non-inferiority, over "
        f"seeds). B: LoRA reduces representation drift by at least {drift} (over seeds). "
        f"C: serving two unmerged adapters costs at most {serving} more latency than merged "
        "weights (over timing rounds). Each part is a one-sided test; as an "
        "intersection-union test, A stands at α and B, C share it (α/2 each).",
        lead="Hypothesis. ",
    )
    blocks = [Paragraph(text, lead=lead) for lead, text in QUESTIONS]
    return Section("questions", "Questions", (*blocks, hypothesis))


def setup_section(results: Results, figures: Collection[str] = ()) -> Section:
    """Model, tasks, methods, seeds and budgets; the search's figures when one was applied."""
    text = (
        "Splits are fixed per task: train and val are carved from the original training data "
        "(val selects the checkpoint); test is the original validation set, or a fixed "
        "stratified held-out part for a task without one (see Data), scored once after "
        "selection by one evaluation path for every model and baseline."
    )
    table = tables_stats.setup_table(results)
    return Section("setup", "Setup", (table, Paragraph(text), *_figures("setup", figures)))


def data_section(results: Results) -> Section:
    """Dataset statistics and per-task notes."""
    blocks = _table_or(
        tables.data_table(results), "Dataset statistics", "results.json has no data section."
    )
    notes = []
    for task, d in results.data.items():
        extra = "; ".join(d.notes)
        dup = f"{fmt.integer(d.duplicates_removed)} duplicates removed"
        notes.append(
            f"{task}: {d.origin or 'origin not recorded'}; {dup}" + (f"; {extra}" if extra else "")
        )
    if notes:
        blocks.append(Bullets(tuple(notes)))
    return Section("data", "Data", tuple(blocks))


def performance_section(results: Results, figures: Collection[str]) -> Section:
    """Task performance of trained models and baselines, then other metrics."""
    if not results.runs:
        return Section(
            "performance",
            "Task performance",
            (missing("Task performance", "results.json has no trained runs."),),
        )
    blocks = _table_or(
        tables.performance_table(results), "Task performance", "the runs report no test metric."
    )
    if not results.baselines:
        why = "results.json lists no majority, random, zero-shot or encoder baseline."
        blocks.append(missing("Baselines", why))
    blocks += _figures("performance", figures)
    details = tables.details_table(results)
    if details is not None:
        blocks.append(details)
    return Section("performance", "Task performance", tuple(blocks))


def drift_section(results: Results, figures: Collection[str]) -> Section:
    """Drift tables, controls and figures."""
    title = "Representation drift"
    if not (results.drift.rows or results.drift.summary):
        why = "results.json has no drift rows or summary (the study captured no representations)."
        return Section("drift", title, (missing("Drift", why),))
    blocks = _table_or(
        tables.drift_table(results), "Drift summary", "results.json has no drift summary."
    )
    blocks += _table_or(
        tables.controls_table(results),
        "CKA controls",
        "results.json has no drift controls, so drift lacks its null reference.",
    )
    if not results.drift.rows:
        why = "results.json has no drift rows, so there are no layer or training-step figures."
        blocks.append(missing("Per-layer drift", why))
    return Section("drift", title, (*blocks, *_figures("drift", figures)))


def forgetting_section(results: Results, figures: Collection[str]) -> Section | None:
    """Each method's change against the base model on unseen probes (None: not measured)."""
    table = fg.change_table(results)
    if table is None:
        return None
    blocks: list[Block] = [
        Paragraph(
            "Every fine-tuned model and the base model were scored on data no run trained on: "
            "the perplexity of a general text and zero-shot accuracy on other tasks (a "
            "classifier's backbone under the base model's language-model head). ",
            lead="Probes. ",
        ),
        table,
    ]
    if (tests := fg.test_table(results)) is not None:
        blocks.append(tests)
    return Section("forgetting", "Forgetting", (*blocks, *_figures("forgetting", figures)))


def serving_section(results: Results, figures: Collection[str]) -> Section:
    """How serving was measured, its tables and figures; one subsection per adapter group."""
    views = sv.views(results)
    if len(views) <= 1:
        view = views[0][1] if views else results
        blocks = _serving_blocks(view, figures, "")
        if views:
            blocks = [Paragraph(f"Served: {views[0][0]}."), *blocks]
        return Section("serving", "Serving cost", tuple(blocks))
    intro = Paragraph(
        "Adapters are served together only when they fit one base model (the same classifier "
        "head size), so the benchmark ran once per group."
    )
    subs = tuple(
        Section(f"serving-{i}", f"Serving {label}", tuple(_serving_blocks(view, figures, f"-{i}")))
        for i, (label, view) in enumerate(views, 1)
    )
    return Section("serving", "Serving cost", (intro,), subs)


def _serving_blocks(view: Results, figures: Collection[str], suffix: str) -> list[Block]:
    """Setup, timing tables, figures (keys ending in `suffix`), memory and correctness."""
    tables = (ts.latency_table(view), ts.mixed_table(view), ts.paired_table(view))
    timing = [t for t in tables if t is not None]
    memory = ts.memory_table(view)
    if not timing and memory is None:
        return [missing("Serving results", "results.json has no serving benchmark.")]
    blocks: list[Block] = []
    if text := ts.settings_text(view):
        blocks.append(Paragraph(text, lead="Setup. "))
    refs = [
        FigureRef(s.key + suffix, s.caption)
        for s in FIGURES
        if s.section == "serving" and s.key + suffix in figures
    ]
    blocks += [*timing, *refs]
    blocks += [t for t in (memory, ts.correctness_table(view)) if t is not None]
    if extra := ts.extra_items(view):
        blocks.append(Bullets(extra))
    blocks += [missing(f"Timings of {e}", why) for e, why in ts.refused(view).items()]
    return blocks


def sparsity_section(results: Results, figures: Collection[str]) -> Section:
    """Sparsity table and figure."""
    blocks = _table_or(
        tables.sparsity_table(results),
        "Sparsity results",
        "results.json has no spectra of weight updates.",
    )
    intruders = tables.intruder_table(results)
    blocks += [intruders] if intruders is not None else []
    return Section("sparsity", "Sparsity of the update", (*blocks, *_figures("sparsity", figures)))


def variants_section(results: Results, figures: Collection[str]) -> Section:
    """Cost and accuracy per method variant, the Pareto figure and AdaLoRA's kept ranks."""
    title = "Method variants: accuracy and cost"
    blocks = _table_or(
        tv.cost_table(results),
        "Cost per variant",
        "results.json has no variants section (the analysis writes it from the training runs).",
    )
    blocks += _figures("variants", figures)
    if xv.variants_of(results, xv.ADALORA) and not xv.adalora_grids(results):
        why = "results.json holds no final rank pattern of the AdaLoRA runs."
        blocks.append(missing("AdaLoRA rank heatmap", why))
    return Section("variants", title, tuple(blocks))


def statistics_section(results: Results) -> Section:
    """Seed-level tests, ANOVA and power."""
    tests, power = tables_stats.tests_table(results), tables_stats.power_table(results)
    anovas = tables_stats.anova_tables(results)
    blocks: list[Block] = [t for t in (tests, *anovas, power) if t is not None]
    if not blocks:
        why = "results.json has no statistics section."
        return Section("statistics", "Statistical comparisons", (missing("Statistics", why),))
    for metric, raw in results.statistics.anova.items():
        if isinstance(raw, NotComputed):
            what = f"Two-way ANOVA of {results.metric(metric).label} (method x task)"
            blocks.append(missing(what, raw.not_computed))
    return Section("statistics", "Statistical comparisons", tuple(blocks))


def results_section(results: Results, figures: Collection[str]) -> Section:
    """All results, one subsection per question."""
    subs = (
        performance_section(results, figures),
        drift_section(results, figures),
        *[s for s in (forgetting_section(results, figures),) if s is not None],
        serving_section(results, figures),
        sparsity_section(results, figures),
        variants_section(results, figures),
        statistics_section(results),
    )
    return Section("results", "Results", (), subs)


def hypotheses_section(results: Results) -> Section:
    """One card per verdict."""
    cards = verdicts.cards(results)
    if not results.hypotheses:  # serving verdicts of their own may still be there
        absent = missing("Verdicts", "results.json has no hypotheses section.")
        return Section("hypotheses", "Hypotheses and verdicts", (absent, *cards))
    intro = Paragraph(
        "Each verdict is supported when its (adjusted) p-value is below alpha, not "
        "supported when its CI lies entirely on the wrong side of the threshold, and "
        "inconclusive otherwise (including too few seeds). It is not applicable, whatever the "
        "tests say, when a compared model does not beat the majority baseline on test (a "
        "serving verdict: when it served such a task); a model whose mean test score is below "
        "zero-shot is flagged beside its verdict. Inside H, drift and serving are "
        "the two sides of an OR, each at alpha/2; serving is one study-level measurement per "
        "serving group, shown once on its own and read by every task's H it served."
    )
    return Section("hypotheses", "Hypotheses and verdicts", (intro, *cards))


def environment_section(results: Results) -> Section:
    """Where and with what the study ran."""
    blocks = _table_or(
        tables_stats.environment_table(results),
        "Environment",
        "results.json records no environment.",
    )
    return Section("environment", "Environment", tuple(blocks))


def _subtitle(results: Results) -> str:
    """Model, counts and finish time under the title."""
    st = results.study
    parts = [
        st.model or "model not recorded",
        fmt.plural(len(ex.tasks(results)), "task"),
        fmt.plural(len(ex.methods(results)), "method"),
        fmt.plural(len(ex.seeds(results)), "seed"),
    ]
    if st.finished:
        parts.append(f"finished {st.finished}")
    return " · ".join(parts)


def build_document(results: Results, figures: Collection[str]) -> Document:
    """The whole report for `results`, referring to the figures in `figures` (by key)."""
    caveats = tuple(results.study.caveats)
    caveats += tuple(
        f"Stage {m.stage} did not finish ({m.reason}); the parts that need it "
        "are missing or inconclusive."
        for m in results.missing_stages
    )
    caveats += tuple(tv.variant_caveats(results))
    caveats += tuple(
        f"Drift of {task}: in layers {', '.join(map(str, layers))} one principal component holds "
        f"more than half of CKA's weight (λ₁²/Σλ²) in the {ex.drift_pooling(results)}-pooled "
        "representation; "
        "drift there measures that component (e.g. an attention sink) alone."
        for task, layers in ex.dominated_layers(results).items()
    )
    lead = (
        Callout("summary", "What we found", summary_items(results), verdicts.chips(results)),
        Callout("caveat", "Caveats", caveats or ("None recorded in results.json.",)),
    )
    name = results.study.name or "unnamed study"
    sections = (
        question_section(results),
        setup_section(results, figures),
        data_section(results),
        results_section(results, figures),
        hypotheses_section(results),
        environment_section(results),
    )
    return Document(f"loralens report: {name}", _subtitle(results), lead, sections)
