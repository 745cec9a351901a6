"""User-facing errors: each carries one message that names what is wrong and what is allowed."""


class LoralensError(Exception):
    """An error caused by user input or environment; the CLI prints it on one line and exits 2."""


class ConfigError(LoralensError):
    """A study or run configuration is invalid."""


class DataError(LoralensError):
    """A task, data file or split is invalid."""


class ModelError(LoralensError):
    """A model name, path or packaged model is unusable."""
