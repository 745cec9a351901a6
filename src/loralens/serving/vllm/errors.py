"""vLLM engine errors: its environment, its server process, its answers."""

from loralens.serving.errors import ServingError


class VllmError(ServingError):
    """The vLLM engine cannot run; the message says why (with the server's last log lines)."""


class VllmEnvError(VllmError):
    """The vLLM virtual environment cannot be built or does not import."""


class ServerStartError(VllmError):
    """The vLLM server exited or did not become healthy in time."""


class ServerRequestError(VllmError):
    """The vLLM server refused or failed a request (e.g. an unknown `model` name)."""
