"""Serving-benchmark errors: bad adapters, unknown engines, adapters an engine cannot serve."""

from loralens.errors import LoralensError


class ServingError(LoralensError):
    """A serving benchmark cannot run with the given engines, adapters or settings."""


class UnknownEngineError(ServingError):
    """An engine name is not in the engine registry."""


class AdapterNotFoundError(ServingError):
    """An adapter directory is missing or holds no PEFT adapter."""


class AdapterMismatchError(ServingError):
    """An adapter was made for another base model: its base or a tensor shape does not match."""


class AdapterRankError(ServingError):
    """An adapter's rank exceeds what an engine can serve."""


class UnsupportedAdapterError(ServingError):
    """An adapter uses a feature (DoRA, LoRA bias, non-Linear targets, ...) an engine lacks."""
