"""The report renders what the analysis decided: no module of `report/` imports a registry
(metrics, methods, task kinds, models, tasks, engines, poolings) or re-resolves the config."""

from __future__ import annotations

import ast
from pathlib import Path

import loralens.report

REGISTRIES = (
    "loralens.task_metrics",
    "loralens.methods",
    "loralens.kinds",
    "loralens.config",
    "loralens.metrics",
    "loralens.models.registry",
    "loralens.data.registry",
    "loralens.serving.registry",
    "loralens.probing",
)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports in functions too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_no_report_module_imports_a_registry() -> None:
    folder = Path(loralens.report.__file__).parent
    found = {
        f"{path.name}: {module}"
        for path in sorted(folder.glob("*.py"))
        for module in _imports(path)
        if module.startswith(REGISTRIES)
    }
    assert not found


def test_the_check_sees_a_lazy_registry_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from loralens.task_metrics import METRICS\n")
    assert any(m.startswith(REGISTRIES) for m in _imports(module))
