"""The report reads the results through the schema's models: no `.get(` in its sources."""

from __future__ import annotations

import re
from pathlib import Path

import loralens.report

REPORT = Path(loralens.report.__file__).parent


def test_the_report_has_no_get_on_results_data() -> None:
    # Typed attribute access replaces `.get(`: a missing key is a schema error on load, not a
    # silent default deep in a table. Constant lookup tables of the report index directly too.
    found = [
        f"{path.name}:{i}: {line.strip()}"
        for path in sorted(REPORT.glob("*.py"))
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\.get\(", line)
    ]
    assert not found, "\n".join(found)


def test_every_report_function_takes_the_results_model() -> None:
    # No report module types its input as a plain mapping of results any more.
    loose = [
        path.name
        for path in sorted(REPORT.glob("*.py"))
        if "Mapping[str, Any]" in path.read_text(encoding="utf-8")
    ]
    assert not loose, loose
