"""The serving benchmark's result as its stage writes it (serving.json), checked to be typed."""

from __future__ import annotations

from typing import Any

from loralens.results.schema_serving import ServingResult
from loralens.serving import run_serve_bench as typed_bench


def run_serve_bench(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """`loralens.serving.run_serve_bench`, whose ServingResult is dumped as serving.json is."""
    result = typed_bench(*args, **kwargs)
    assert isinstance(result, ServingResult)
    return result.model_dump(mode="json")
