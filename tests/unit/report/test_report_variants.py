"""Variants in the report: extraction, Pareto figure, AdaLoRA heatmap, cost table, caveat."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from loralens.report import extract_variants as xv
from loralens.report.content import build_document
from loralens.report.document import Callout, Missing, Table
from loralens.report.figures import FIGURES, draw_figures
from loralens.report.plotstyle import OKABE_ITO, style
from loralens.report.tables import details_table
from loralens.report.tables_variants import cost_table, variant_caveats
from loralens.results.schema import Results, VariantSettings
from loralens.results.variants import variant_settings
from tests.unit.report._synthetic import typed, without
from tests.unit.report._synthetic_variants import (
    FRONT,
    LAYERS,
    MODULES,
    TASK,
    VARIANTS,
    variant_results,
)

BY_KEY = {s.key: s for s in FIGURES}


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> Results:
    return variant_results(tmp_path_factory.mktemp("variants"))


def _no_ranks(variants: Results) -> Results:
    """The variants study without AdaLoRA's rank patterns."""
    return variants.model_copy(
        update={"variants": variants.variants.model_copy(update={"adalora_ranks": []})}
    )


def _images(fig: Figure) -> list:
    return [im for ax in fig.axes for im in ax.get_images()]


def _blocks(doc) -> list:
    def walk(section):
        yield from section.blocks
        for sub in section.subsections:
            yield from walk(sub)

    return [*doc.lead, *(b for s in doc.sections for b in walk(s))]


def test_pareto_points_read_from_results(variants: Results) -> None:
    points = {p["method"]: p for p in xv.pareto_points(variants)[TASK]}
    assert list(points) == list(VARIANTS)  # the study's order
    assert {m for m, p in points.items() if p["on_front"]} == FRONT
    r4 = points["lora-r4"]
    assert r4["params"] == 1_000 and r4["mean"] == pytest.approx(0.63)
    assert r4["sd"] == pytest.approx(np.std([0.62, 0.64], ddof=1)) and r4["n"] == 2
    xs, ys = xv.front_line(points.values())
    assert xs.tolist() == [1_000, 3_000, 4_000, 1_000_000]
    assert ys == pytest.approx([0.63, 0.64, 0.65, 0.68])


def test_variant_kinds(variants: Results) -> None:
    assert xv.variants_of(variants, "qlora") == ["qlora-r8"]
    assert xv.variants_of(variants, "adalora") == ["adalora"]
    assert xv.quantized_variants(variants) == ["qlora-r8"]  # 4-bit base, by the registry


def test_adalora_heatmap_values_are_means_over_seeds(variants: Results) -> None:
    (key,) = xv.adalora_grids(variants)
    g = xv.adalora_grids(variants)[key]
    assert key == (TASK, "adalora")
    assert g["layer"].tolist() == list(LAYERS) and g["module_type"] == list(MODULES)
    # planted: q_proj keeps layer + 1 (seed 1) and layer + 3 (seed 2); v_proj two more
    expected = np.array([[la + 2, la + 4] for la in LAYERS], dtype=float)
    np.testing.assert_allclose(g["rank"], expected)
    assert (g["n"] == 2).all()


def test_variant_figures_drawn_and_labelled(variants: Results) -> None:
    for key in ("variants_pareto", "adalora_ranks"):
        with style():
            fig = BY_KEY[key].draw(variants)
        assert isinstance(fig, Figure)
        assert fig.get_suptitle()
        for ax in fig.axes:
            if ax.get_visible():
                assert ax.get_ylabel(), key
                assert ax.get_xlabel() or ax.get_label() == "<colorbar>", key
    with style():
        fig = BY_KEY["variants_pareto"].draw(variants)
    (ax,) = [a for a in fig.axes if a.get_visible()]
    assert ax.get_xscale() == "log"
    colours = {c.get_color() for c in ax.get_lines()}
    assert colours & set(OKABE_ITO)
    front = next(line for line in ax.get_lines() if line.get_label() == "Pareto front (mean)")
    assert len(front.get_xdata()) >= len(FRONT)
    assert _images(fig) == []  # the Pareto figure is not a heatmap
    with style():
        heat = BY_KEY["adalora_ranks"].draw(variants)
    (image,) = _images(heat)
    np.testing.assert_allclose(image.get_array(), [[la + 2, la + 4] for la in LAYERS])


def test_variant_figures_only_with_their_data(
    variants: Results, full: Results, minimal: Results
) -> None:
    no_ranks = _no_ranks(variants)
    no_variants = typed(without(variants.model_dump(exclude_unset=True), "variants"))
    with style():
        assert set(draw_figures(variants)) == {"performance", "variants_pareto", "adalora_ranks"}
        assert BY_KEY["adalora_ranks"].draw(no_ranks) is None
        assert BY_KEY["variants_pareto"].draw(no_ranks) is not None
        assert BY_KEY["variants_pareto"].draw(no_variants) is None
        assert BY_KEY["adalora_ranks"].draw(full) is None  # no AdaLoRA in the main synthetic
        assert BY_KEY["variants_pareto"].draw(minimal) is None


def test_cost_table(variants: Results) -> None:
    table = cost_table(variants)
    assert isinstance(table, Table)
    rows = {r[1]: dict(zip(table.columns, r, strict=True)) for r in table.rows}
    assert list(rows) == list(VARIANTS)
    r4 = rows["lora-r4"]
    assert r4["Trainable (share)"] == "1.0k (0.10%)"
    assert r4["Train time"] == "2.5 min ± 71 s"
    assert r4["Test accuracy"] == "63.0% ± 1.4"
    assert r4["Peak RSS (MB)"] == "1,200 ± 0"
    assert r4["Method"] == "lora" and r4["Seeds"] == "2"
    assert {m for m, r in rows.items() if r["Pareto front"] == "yes"} == FRONT
    assert rows["qlora-r8"]["Peak RSS (MB)"] == "900 ± 0"
    assert cost_table(typed(without(variants.model_dump(exclude_unset=True), "variants"))) is None


def test_document_has_variants_section_and_qlora_caveat(variants: Results, full: Results) -> None:
    blocks = _blocks(build_document(variants, draw_figures(variants)))
    assert "variants" in {b.key for b in blocks if isinstance(b, Table)}
    summary = next(b for b in blocks if isinstance(b, Callout) and b.kind == "summary")
    front = "Pareto front of score against trainable parameters: rte: "
    assert f"{front}lora-r4, adalora, lora-r16, full-ft." in summary.items
    caveats = next(b for b in blocks if isinstance(b, Callout) and b.kind == "caveat")
    (qlora,) = [c for c in caveats.items if "NF4" in c]
    assert qlora.startswith("qlora-r8: ") and "4-bit" in qlora
    full_caveats = next(
        b
        for b in _blocks(build_document(full, set()))
        if isinstance(b, Callout) and b.kind == "caveat"
    )
    assert not any("NF4" in c for c in full_caveats.items)


def test_missing_rank_patterns_are_stated(variants: Results) -> None:
    missing = [
        b.text
        for b in _blocks(build_document(_no_ranks(variants), set()))
        if isinstance(b, Missing)
    ]
    assert any(m.startswith("AdaLoRA rank heatmap: not available") for m in missing)


def test_details_table_leaves_cost_to_the_variants_table(full: Results, minimal: Results) -> None:
    assert "Train time" not in details_table(full).columns
    assert "Train time" in details_table(minimal).columns  # no variants section: kept here


def test_a_variant_on_a_4bit_base_is_named_whatever_its_method(variants: Results) -> None:
    config = variants.study.config
    nf4 = {"method": "adalora", "model": {"quantization": "nf4"}}
    study = config.study.model_copy(
        update={
            "methods": [*config.study.methods, "adalora-nf4"],
            "variants": {**config.study.variants, "adalora-nf4": nf4},
        }
    )
    block = variants.study.model_copy(
        update={
            "config": config.model_copy(update={"study": study}),
            "methods": [*variants.study.methods, "adalora-nf4"],
        }
    )
    # what the analysis decides of each variant, from the study's resolution of it
    settings = variant_settings(block.config.model_dump(mode="json"), [])
    decided = {name: VariantSettings(**s) for name, s in settings.items()}
    decisions = variants.decisions.model_copy(update={"variants": decided})
    changed = variants.model_copy(update={"study": block, "decisions": decisions})
    assert xv.quantized_variants(changed) == ["qlora-r8", "adalora-nf4"]
    (caveat,) = variant_caveats(changed)
    assert caveat.startswith("qlora-r8 and adalora-nf4: ") and "4-bit" in caveat
