"""The results schema: its document is generated, and it rejects what the producer must not do."""

import pytest
from pydantic import ValidationError

from loralens.results.schema import Anova, DriftRow, NotComputed, Run
from loralens.results.schema_doc import schema_markdown
from tests.conftest import REPO, run_metrics


def test_the_schema_document_is_generated_from_the_models() -> None:
    doc = (REPO / "docs" / "results-schema.md").read_text()
    assert doc == schema_markdown(), "regenerate: python -m loralens.results.schema > docs/..."


def test_a_run_row_is_exactly_metrics_plus_identity() -> None:
    row = {**run_metrics().to_dict(), "base_method": "lora", "artifact": "artifacts/train-x"}
    Run.model_validate(row)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Run.model_validate({**row, "accuracy": 0.5})  # a key the schema does not know
    with pytest.raises(ValidationError, match="seed"):
        Run.model_validate({k: v for k, v in row.items() if k != "seed"})


def test_a_statistic_is_a_result_or_a_reason() -> None:
    NotComputed.model_validate({"not_computed": "needs two tasks"})
    with pytest.raises(ValidationError):
        NotComputed.model_validate({"error": "a bug turned into a row"})
    with pytest.raises(ValidationError):
        Anova.model_validate({"rows": []})


def test_an_undefined_drift_row_carries_its_note() -> None:
    row = {"task": "t", "method": "m", "seed": 1, "step": 0, "selected": False, "layer": 3}
    got = DriftRow.model_validate({**row, "pooling": "mean", "note": "undefined", "artifact": "a"})
    assert got.cka is None and got.note == "undefined"
