"""`loralens bench serve --engines merged,vllm` when vLLM cannot run: others' results, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO


def test_vllm_failure_keeps_other_results_and_exits_nonzero(tiny_llama_dir, tmp_path):
    out = tmp_path / "serve.json"
    env = os.environ | {"LORALENS_CACHE": str(tmp_path / "cache")}  # no vLLM environment here
    args = [
        "bench", "serve", "--engines", "merged,vllm", "--out", str(out),
        f"model.name={tiny_llama_dir}", "serving.vllm.build_env=false",
        "serving.batch_sizes=[1]", "serving.num_adapters=[1]", "serving.prompt_length=6",
        "serving.output_length=2", "serving.repeats=1", "serving.warmup=0",
        "serving.generation_batch_size=1", "serving.threads=1",
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "loralens", *args],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "loralens: error: engine vllm failed to start" in proc.stderr
    assert "vllm.build_env is false" in proc.stderr
    result = json.loads(out.read_text())
    assert any(r["engine"] == "merged" for r in result["rows"])
    assert "ENGINE FAILED: vllm" in proc.stdout
