"""Part C names what it measured: the engine, at K = 2, against merged weights serving one."""

from loralens.results.serving import group_verdicts, serving_note
from loralens.stats.hypotheses import Thresholds


def _group(engine: str) -> dict:
    row = {
        "engine": engine,
        "workload": "forward",
        "k_adapters": 2,
        "batch_size": 8,
        "samples_ms": [110.0, 112.0, 111.0, 113.0, 109.0],
        "paired_baseline_ms": [100.0, 101.0, 100.5, 102.0, 99.5],
    }
    return {"group": {"id": "serve/2-labels", "tasks": ["a", "b"]}, "rows": [row]}


def test_the_study_level_verdict_and_each_tasks_part_name_the_engine() -> None:
    groups = [_group("peft-mixed")]
    (verdict,) = group_verdicts(groups, "peft-mixed", Thresholds())
    assert "engine peft-mixed serving K = 2 adapters in one batch" in verdict["sentence"]
    note = serving_note(groups, "a", "peft-mixed")
    assert note.startswith("engine peft-mixed serving K = 2") and "shared with b" in note
    # another engine's timings are not read as this one's
    (other,) = group_verdicts(groups, "fused", Thresholds())
    assert other["status"] == "inconclusive" and "fused at K = 2" in other["sentence"]
