"""The engine registry: name -> constructor. Add an engine with one line here."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from loralens.serving.adapters import AdapterSpec
from loralens.serving.engines import MergedEngine, PeftMixedEngine, UnmergedEngine
from loralens.serving.errors import AdapterRankError, UnknownEngineError, UnsupportedAdapterError
from loralens.serving.fused import FusedEngine
from loralens.serving.interface import Engine, EngineOptions
from loralens.serving.vllm.engine import VllmEngine
from loralens.suggest import unknown_name_message

EngineFactory = Callable[[EngineOptions], Engine]

ENGINES: dict[str, EngineFactory] = {
    "merged": MergedEngine,
    "unmerged": UnmergedEngine,
    "peft-mixed": PeftMixedEngine,
    "fused": FusedEngine,
    "vllm": VllmEngine,  # a separate server process in its own environment
}


def resolve_engines(names: Sequence[str]) -> list[str]:
    """The engine names, deduplicated in order; raises suggesting the closest for an unknown one."""
    for name in names:
        if name not in ENGINES:
            raise UnknownEngineError(unknown_name_message("engine", name, ENGINES))
    if not names:
        raise UnknownEngineError(f"no engine given; known: {', '.join(ENGINES)}")
    return list(dict.fromkeys(names))


def make_engine(name: str, options: EngineOptions) -> Engine:
    """A new, unloaded engine."""
    return ENGINES[resolve_engines([name])[0]](options)


def check_servable(engine: Engine, adapters: Sequence[AdapterSpec]) -> None:
    """Raise if the engine cannot serve an adapter (rank above its maximum, DoRA, ...)."""
    caps = engine.capabilities
    for spec in adapters:
        if caps.max_rank is not None and spec.max_rank > caps.max_rank:
            module = max(spec.ranks, key=spec.ranks.__getitem__)
            raise AdapterRankError(
                f"adapter '{spec.name}' has rank {spec.max_rank} (at {module}) but engine "
                f"'{engine.name}' serves at most rank {caps.max_rank} (serving.max_rank)"
            )
        if spec.uses_dora and not caps.supports_dora:
            raise UnsupportedAdapterError(
                f"adapter '{spec.name}' uses DoRA, which engine '{engine.name}' cannot serve"
            )
