"""vLLM fixtures: a fake `python` that runs a stand-in server with the real server's arguments."""

from __future__ import annotations

import sys
from pathlib import Path

import psutil
import pytest

FAKE = Path(__file__).with_name("fake_vllm_server.py")


@pytest.fixture
def fake_python(tmp_path: Path) -> Path:
    """An executable named python that drops `-m MODULE` and runs the fake server instead."""
    shim = tmp_path / "bin" / "python"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nshift 2\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    shim.chmod(0o755)
    return shim


def fake_processes() -> list[psutil.Process]:
    """Live processes running the fake server or its child (none may be left after a test)."""
    out = []
    for proc in psutil.process_iter(["cmdline", "ppid"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if str(FAKE) in cmd or "time.sleep(300)" in cmd:
            out.append(proc)
    return out
