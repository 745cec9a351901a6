"""The vLLM server process: command line, environment, recorded settings, and clean stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from loralens.serving.vllm.errors import ServerStartError
from loralens.serving.vllm.server import (
    ENTRYPOINT,
    ServerSettings,
    cpu_binding,
    free_port,
    healthy,
    log_tail,
    port_is_free,
    recorded_settings,
    running_server,
    server_command,
    server_env,
)

from .conftest import fake_processes

LORA = ServerSettings(
    model="/m",
    served_name="base",
    lora_modules={"a": "/ad/a", "b": "/ad/b"},
    max_lora_rank=8,
    omp_threads_bind="0-1",
    extra_env={"VLLM_FAKE_MODE": "serve"},
)


def _value(cmd: list[str], flag: str) -> str:
    return cmd[cmd.index(flag) + 1]


def test_command_serves_lora_modules_on_loopback():
    cmd = server_command(Path("/env/bin/python"), LORA, 8123)
    assert cmd[:3] == ["/env/bin/python", "-m", ENTRYPOINT]  # not the broken `vllm` command
    assert _value(cmd, "--model") == "/m" and _value(cmd, "--dtype") == "float32"
    assert _value(cmd, "--host") == "127.0.0.1" and _value(cmd, "--port") == "8123"
    assert "--enable-lora" in cmd and _value(cmd, "--max-loras") == "2"
    assert _value(cmd, "--max-lora-rank") == "8"
    i = cmd.index("--lora-modules")
    assert cmd[i + 1 : i + 3] == ["a=/ad/a", "b=/ad/b"]


def test_command_without_adapters_has_no_lora_flags():
    cmd = server_command(Path("py"), ServerSettings(model="/m", served_name="merged"), 1)
    assert not any("lora" in c for c in cmd)
    assert _value(cmd, "--served-model-name") == "merged"


def test_max_loras_and_cpu_loras_given_explicitly():
    s = ServerSettings(
        model="/m", served_name="b", lora_modules=LORA.lora_modules, max_loras=1, max_cpu_loras=4
    )
    cmd = server_command(Path("py"), s, 1)
    assert _value(cmd, "--max-loras") == "1" and _value(cmd, "--max-cpu-loras") == "4"


def test_env_sets_cpu_variables_and_drops_the_main_venv():
    env = server_env(LORA, {"VIRTUAL_ENV": "/main/.venv", "PATH": "/bin", "PYTHONPATH": "/x"})
    assert "VIRTUAL_ENV" not in env and "PYTHONPATH" not in env and env["PATH"] == "/bin"
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "1" and env["VLLM_CPU_OMP_THREADS_BIND"] == "0-1"
    assert env["HF_HUB_OFFLINE"] == "1" and env["VLLM_FAKE_MODE"] == "serve"


def test_every_setting_is_recorded_with_defaults_named():
    s = ServerSettings(model="/m", served_name="b")
    env = server_env(s, {})
    rec = recorded_settings(s, server_command(Path("py"), s, 1), env)
    assert rec["dtype"] == "float32" and rec["kvcache_space_gib"] == 1
    assert rec["env"]["VLLM_CPU_OMP_THREADS_BIND"] == "auto (default)"
    assert rec["env"]["VLLM_CPU_KVCACHE_SPACE"] == "1" and rec["command"][0] == "py"


def test_cpu_binding_read_from_the_log():
    log = "x\n\tlocal_world_size=1, reserve_cpu_num=1\n\tlocal_rank=0, core ids=[0]\n"
    assert cpu_binding(log) == {"reserve_cpu_num": "1", "core ids": "[0]"}
    assert cpu_binding("local_rank=0, core ids=[0, 1]\n")["core ids"] == "[0, 1]"


def test_free_port_is_free_until_bound():
    port = free_port()
    assert port_is_free(port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not port_is_free(port)


def test_log_tail_keeps_the_last_lines(tmp_path):
    log = tmp_path / "s.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert log_tail(log, 3) == "line 97\nline 98\nline 99"
    assert log_tail(tmp_path / "missing.log") == ""


def _assert_clean(port: int | None = None) -> None:
    deadline = time.time() + 5
    while fake_processes() and time.time() < deadline:
        time.sleep(0.1)
    assert fake_processes() == []
    if port is not None:
        assert port_is_free(port)


@pytest.mark.parametrize(
    ("mode", "timeout", "expected"),
    [
        ("exit", 30.0, "exited with code 3"),
        ("hang", 2.0, "was not healthy after 2 s"),
    ],
)
def test_startup_failure_carries_the_log_and_leaves_nothing(
    fake_python, tmp_path, mode, timeout, expected
):
    s = ServerSettings(model="/m", served_name="b", extra_env={"VLLM_FAKE_MODE": mode})
    with (
        pytest.raises(ServerStartError) as err,
        running_server(fake_python, s, tmp_path / "server.log", timeout_s=timeout),
    ):
        pytest.fail("the server must not become healthy")
    message = str(err.value)
    assert expected in message and "fake vllm: loading weights" in message
    if mode == "exit":
        assert "cannot open shared object file" in message
    _assert_clean()


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_error_inside_the_block_stops_the_server(fake_python, tmp_path, exc):
    with pytest.raises(exc), running_server(fake_python, LORA, tmp_path / "s.log") as server:
        assert healthy(server.base_url + "/health")
        assert len(server.tree()) >= 2 and server.rss_mb() > 0  # the server and its child
        port = server.port
        raise exc("stop")
    _assert_clean(port)


def test_sigterm_to_the_client_process_stops_the_server(fake_python, tmp_path):
    """A loralens process holding a server gets SIGTERM: it exits and nothing is left."""
    script = tmp_path / "hold.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            from pathlib import Path
            from loralens.serving.vllm.server import ServerSettings, running_server
            s = ServerSettings(model="/m", served_name="b")
            log = Path({str(tmp_path)!r}) / "l"
            with running_server(Path({str(fake_python)!r}), s, log) as srv:
                print(srv.port, flush=True)
                time.sleep(120)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        assert fake_processes()
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    _assert_clean(port)


def test_no_process_survives_even_a_group_escape(fake_python, tmp_path):
    """stop_server also kills descendants recorded before the group kill."""
    with running_server(fake_python, LORA, tmp_path / "s.log") as server:
        pids = [p.pid for p in server.tree()]
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids)
