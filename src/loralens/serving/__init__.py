"""Serving LoRA adapters side by side: engines, correctness gate and the deployment benchmark.

Engines (registry names): `merged` (one merged copy per adapter), `unmerged` (PEFT, one adapter
active at a time), `peft-mixed` (PEFT's per-row `adapter_names`) and `fused` (loralens' own
multi-LoRA: one base pass plus gathered per-row low-rank deltas). `run_serve_bench` checks every
engine against PEFT and then times it; `format_serve_table` renders the result.
"""

from loralens.serving.adapters import AdapterSpec, read_adapter
from loralens.serving.base import BaseSource, Batch
from loralens.serving.bench import run_serve_bench
from loralens.serving.interface import (
    BASE_ROW,
    Capabilities,
    Engine,
    EngineOptions,
    Generation,
    Sampling,
)
from loralens.serving.registry import ENGINES, make_engine, resolve_engines
from loralens.serving.report import format_serve_table
from loralens.serving.synthetic import make_synthetic_adapters

__all__ = [
    "BASE_ROW",
    "ENGINES",
    "AdapterSpec",
    "BaseSource",
    "Batch",
    "Capabilities",
    "Engine",
    "EngineOptions",
    "Generation",
    "Sampling",
    "format_serve_table",
    "make_engine",
    "make_synthetic_adapters",
    "read_adapter",
    "resolve_engines",
    "run_serve_bench",
]
