"""Serving fixtures: eight synthetic adapters of mixed ranks on the tiny random Llama."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from loralens.serving.adapters import AdapterSpec, read_adapter
from loralens.serving.interface import EngineOptions
from loralens.serving.synthetic import make_synthetic_adapters

RANKS = [2, 4, 8]  # cycled: mixed ranks in one fused stack


@pytest.fixture(scope="session")
def tiny_adapters(
    tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[AdapterSpec]:
    """Eight random LoRA adapters (q/v, ranks 2/4/8, per-adapter score heads) on the tiny Llama."""
    out = tmp_path_factory.mktemp("tiny-adapters")
    paths = make_synthetic_adapters(str(tiny_llama_dir), out, 8, ranks=RANKS, seed=3)
    return [read_adapter(p) for p in paths]


@pytest.fixture(scope="session")
def cpu_options() -> EngineOptions:
    """Engine options on the CPU."""
    return EngineOptions(device=torch.device("cpu"), max_rank=64)
