"""docs/results-schema.md from the results models (`python -m loralens.results.schema`)."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from pydantic import BaseModel

from loralens.results import schema
from loralens.results.schema import SCHEMA_VERSION, Results
from loralens.results.schema_base import Fixed, Open


def _type_name(annotation: Any) -> str:
    """A readable type: list[DriftRow], float | null, ..."""
    if annotation is type(None):
        return "null"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return getattr(annotation, "__name__", str(annotation))


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """Every model reachable from `root`, depth first, each once."""
    seen: list[type[BaseModel]] = []

    def visit(model: type[BaseModel]) -> None:
        if model in seen or not issubclass(model, Fixed | Open):
            return  # the config is documented by its own models (loralens.config)
        seen.append(model)
        for field in model.model_fields.values():
            for arg in _leaves(field.annotation):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    visit(arg)

    visit(root)
    return seen


def _leaves(annotation: Any) -> list[Any]:
    args = typing.get_args(annotation)
    return [leaf for a in args for leaf in _leaves(a)] if args else [annotation]


def schema_markdown() -> str:
    """docs/results-schema.md, generated from the models."""
    lines = [
        "# `results.json`",
        "",
        "Generated from `loralens.results.schema` (`python -m loralens.results.schema`); do not",
        "edit by hand. `loralens run` writes `RUN_DIR/results.json` after validating it against",
        "these models; `loralens report` validates it on load and renders it without recomputing",
        "a number. Paths in `artifact` are relative to the run directory.",
        "",
        f"Schema version {SCHEMA_VERSION}. " + (schema.__doc__ or "").split("\n\n", 1)[1].strip(),
    ]
    for model in _models(Results):
        kind = "more keys allowed" if model.model_config.get("extra") == "allow" else "exact keys"
        lines += ["", f"## {model.__name__}", "", f"{model.__doc__} ({kind})", ""]
        lines += ["| key | type | meaning |", "|---|---|---|"]
        for name, field in model.model_fields.items():
            typ = _type_name(field.annotation).replace("|", "\\|")
            lines.append(f"| `{name}` | {typ} | {field.description or ''} |")
    return "\n".join(lines) + "\n"
