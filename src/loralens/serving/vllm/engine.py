"""The `vllm` engine: vLLM's OpenAI-compatible server (own environment, own process) over HTTP.

`load` builds (or reuses) the vLLM environment, rewrites the adapters for a causal LM and starts
the LoRA server: the base plus every adapter (`--enable-lora`). `generate` sends one streamed
request per row, all at once, each naming its adapter (or the base) in `model`; so the shared
benchmark's correctness gate and generation timings cover vLLM like any engine. `extra_results`
then measures vLLM under load, closed loop at each concurrency and open loop at Poisson rates:
the LoRA server with K = 0 (base only), and each K adapters; then, after stopping it (one
server at a time on a small machine), a server holding the first adapter merged into the base,
the baseline of the overhead. Every server is stopped by `close`, whatever happened before.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from loralens.config import ServingConfig, VllmConfig
from loralens.serving.adapters import AdapterSpec
from loralens.serving.base import BaseSource, Batch
from loralens.serving.correctness import agreement
from loralens.serving.interface import Capabilities, EngineOptions, Generation, Sampling
from loralens.serving.vllm import client
from loralens.serving.vllm.env import build_seconds, cached_env, ensure_env, env_python
from loralens.serving.vllm.errors import ServerRequestError, VllmEnvError, VllmError
from loralens.serving.vllm.folders import write_merged_model, write_vllm_adapter
from loralens.serving.vllm.loadstats import (
    LORA_ENGINE,
    MERGED_ENGINE,
    load_row,
    lora_overheads,
)
from loralens.serving.vllm.server import (
    Server,
    ServerSettings,
    cpu_binding,
    log_dir,
    log_tail,
    sigterm_raises,
    start_server,
    stop_server,
    wait_healthy,
)

BASE_NAME = "base"  # the `model` name of the base model on the LoRA server
MERGED_NAME = "merged"  # the `model` name on the merged server
VLLM_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # vLLM's allowed --max-lora-rank values
Progress = Callable[[str], None]


def lora_rank_setting(ranks: Sequence[int], asked: int | None) -> int:
    """--max-lora-rank: the asked value, else the smallest vLLM allows that fits every adapter."""
    need = max(ranks, default=1)
    if asked is not None:
        if asked < need:
            raise VllmError(f"vllm.max_lora_rank {asked} is below the adapters' rank {need}")
        return asked
    fits = [r for r in VLLM_RANKS if r >= need]
    if not fits:
        raise VllmError(f"adapter rank {need} exceeds vLLM's largest --max-lora-rank 512")
    return fits[0]


def row_prompts(batch: Batch) -> list[list[int]]:
    """Each row's real token ids (padding removed)."""
    ids, mask = batch.input_ids.cpu(), batch.attention_mask.cpu().bool()
    return [ids[i][mask[i]].tolist() for i in range(batch.size)]


class VllmEngine:
    """vLLM serving the base with every adapter unmerged, as a separate server process."""

    name = LORA_ENGINE

    def __init__(self, options: EngineOptions) -> None:
        self.config: VllmConfig = (options.serving or ServingConfig()).vllm
        self.capabilities = Capabilities(
            supports_forward=False,  # a server returns tokens, not logits
            mixed_batches=True,
            max_rank=self.config.max_lora_rank or VLLM_RANKS[-1],
            in_process=False,
            exact_greedy=False,  # vLLM's CPU kernels differ numerically: agreement as a rate
        )
        self.stack = contextlib.ExitStack()
        self.servers: dict[str, Server] = {}
        self.python: Path | None = None
        self.lora: Server | None = None
        self.source: BaseSource | None = None
        self.adapters: list[AdapterSpec] = []
        self.work: Path | None = None
        self.record: dict[str, Any] = {}

    def load(self, base: BaseSource, adapters: Sequence[AdapterSpec]) -> None:
        """Build/reuse the vLLM environment and start the LoRA server with every adapter."""
        self.source, self.adapters = base, list(adapters)
        self.python = env_python(self._env())
        self.stack.enter_context(sigterm_raises())  # SIGTERM unwinds: `close` stops servers
        self.work = Path(tempfile.mkdtemp(prefix="loralens-vllm-"))
        self.stack.callback(shutil.rmtree, self.work, True)
        self.stack.callback(self._stop_all)
        base_dir = self._base_folder()
        modules = {
            a.name: str(write_vllm_adapter(a, self.work / "adapters" / a.name, base_dir))
            for a in self.adapters
        }
        settings = self._settings(base_dir, BASE_NAME, modules)
        self.lora = self._start(settings, "lora")

    def forward(self, batch: Batch, adapter_per_row: Sequence[str | None]) -> torch.Tensor:
        """Not available: the server returns tokens, not logits."""
        raise VllmError("the vllm engine does not return logits (supports_forward is False)")

    def generate(
        self,
        batch: Batch,
        adapter_per_row: Sequence[str | None],
        max_new_tokens: int,
        sampling: Sampling,
    ) -> Generation:
        """One streamed request per row, all in flight at once; tokens and per-row timings."""
        if self.lora is None:
            raise VllmError("the vllm engine is not loaded")
        models = [a or BASE_NAME for a in adapter_per_row]
        results = self._send(self.lora, models, row_prompts(batch), max_new_tokens, sampling)
        tokens = torch.tensor([r.token_ids for r in results], dtype=torch.long)  # (B, n)
        return Generation(
            tokens, [r.ttft_s or 0.0 for r in results], [r.e2e_s or 0.0 for r in results]
        )

    def close(self) -> None:
        """Stop every server (process group killed, port free) and delete the work folder."""
        self.lora = None
        self.stack.close()
        self.stack = contextlib.ExitStack()

    def extra_results(self, serving: ServingConfig, progress: Progress) -> dict[str, Any]:
        """vLLM under load: LoRA server with K adapters, then (alone) the merged server."""
        if self.lora is None or self.source is None:
            raise VllmError("the vllm engine is not loaded")
        names = [a.name for a in self.adapters]
        check = self._prompts(serving, 8, serving.seed + 7)
        n = serving.output_length
        lora_tokens = self._tokens(self.lora, [names[0]] * len(check), check, n)
        rows = self._load_levels(self.lora, LORA_ENGINE, [BASE_NAME], 0, serving, progress)
        for k in sorted(set(serving.num_adapters)):
            if k <= len(names):
                rows += self._load_levels(self.lora, LORA_ENGINE, names[:k], k, serving, progress)
        agree = None
        if self.config.merged:
            self._stop("lora")  # one server at a time: an idle one still takes memory and CPU
            self.lora = None
            merged = self._merged_server(progress)
            merged_tokens = self._tokens(merged, [MERGED_NAME] * len(check), check, n)
            agree = agreement(merged_tokens, lora_tokens)
            agree |= {"adapter": names[0], "dtype": self.config.dtype}
            rows += self._load_levels(merged, MERGED_ENGINE, [MERGED_NAME], 1, serving, progress)
            self._stop("merged")
        return {
            "rows": rows,
            "overheads": lora_overheads(rows),
            "merged_vs_lora_greedy": agree,
            "settings": self.record,
        }

    # --- internals -------------------------------------------------------------------------

    def _env(self) -> Path:
        """The vLLM environment, built if allowed; VllmEnvError otherwise."""
        folder = cached_env()
        if folder is not None:
            self.record["env"] = {"path": str(folder), "build_s": build_seconds(folder)}
            return folder
        if not self.config.build_env:
            raise VllmEnvError("the vLLM environment is not built and vllm.build_env is false")
        folder = ensure_env()
        self.record["env"] = {"path": str(folder), "build_s": build_seconds(folder)}
        return folder

    def _base_folder(self) -> str:
        """The base causal LM's folder (a hub id is not served offline: must be a folder)."""
        assert self.source is not None
        path = self.source.path
        if not isinstance(path, Path):
            raise VllmError(f"vLLM needs a local model folder here, got hub id {path}")
        return str(path)

    def _settings(self, model: str, name: str, modules: dict[str, str]) -> ServerSettings:
        """Server settings from the config for a model folder and its LoRA modules."""
        c = self.config
        ranks = [a.max_rank for a in self.adapters]
        return ServerSettings(
            model=model,
            served_name=name,
            dtype=c.dtype,
            lora_modules=modules,
            max_loras=c.max_loras or max(len(modules), 1),
            max_lora_rank=lora_rank_setting(ranks, c.max_lora_rank) if modules else 16,
            max_model_len=c.max_model_len,
            max_num_seqs=c.max_num_seqs,
            kvcache_space_gib=c.kvcache_space_gib,
            omp_threads_bind=c.omp_threads_bind,
            extra_env={k: str(v) for k, v in c.env.items()},
        )

    def _start(self, settings: ServerSettings, label: str) -> Server:
        """Start a healthy server (stopped on failure); settings and start time recorded."""
        assert self.python is not None
        log = log_dir() / f"{label}-server-{os.getpid()}.log"
        server = start_server(self.python, settings, log)
        self.servers[label] = server
        try:
            wait_healthy(server, self.config.startup_timeout_s)
        except BaseException:
            self._stop(label)
            raise
        self.record[label] = server.settings | {
            "cpu_binding": cpu_binding(log_tail(log, 10_000)),
            "startup_s": server.startup_s,
            "rss_mb_idle": server.rss_mb(),
            "log": str(log),
        }
        return server

    def _stop(self, label: str) -> None:
        """Stop one server (process group killed, port free) if it is running."""
        server = self.servers.pop(label, None)
        if server is not None:
            stop_server(server)

    def _stop_all(self) -> None:
        """Stop every server still running."""
        for label in list(self.servers):
            self._stop(label)

    def _merged_server(self, progress: Progress) -> Server:
        """Start the merged server: the first adapter merged into the base (PEFT, float32)."""
        assert self.source is not None and self.work is not None
        first = self.adapters[0]
        progress(f"vllm: merging {first.name} into the base and starting the merged server")
        folder = write_merged_model(self.source, first, self.work / "merged")
        return self._start(self._settings(str(folder), MERGED_NAME, {}), "merged")

    def _tokens(
        self, server: Server, models: Sequence[str], prompts: Sequence[Sequence[int]], n: int
    ) -> list[list[int]]:
        """Greedy token ids of each prompt."""
        return [r.token_ids for r in self._send(server, models, prompts, n, Sampling())]

    def _prompts(self, serving: ServingConfig, n: int, seed: int) -> list[list[int]]:
        """`n` random prompts of the configured length (same generator as the shared workloads)."""
        from loralens.serving.workloads import make_batch

        assert self.source is not None
        batch = make_batch(self.source.tokenizer, [serving.prompt_length] * n, "left", seed)
        return row_prompts(batch)

    def _send(
        self,
        server: Server,
        models: Sequence[str],
        prompts: Sequence[Sequence[int]],
        n: int,
        sampling: Sampling,
    ) -> list[client.RequestResult]:
        """All requests at once (concurrency = rows); raises on the first server error."""
        temperature = 0.0 if sampling.greedy else sampling.temperature
        seed = None if sampling.greedy else sampling.seed
        bodies = [
            client.completion_body(m, p, n, temperature=temperature, seed=seed)
            for m, p in zip(models, prompts, strict=True)
        ]
        results, _ = client.run(
            client.closed_loop(
                server.host, server.port, bodies.__getitem__, len(bodies), len(bodies)
            )
        )
        _raise_first_error(results, server)
        return results

    def _load_levels(
        self,
        server: Server,
        engine: str,
        models: list[str],
        k: int,
        serving: ServingConfig,
        progress: Progress,
    ) -> list[dict[str, Any]]:
        """Closed-loop rows at each concurrency, open-loop rows at each rate, for one model set."""
        c = self.config
        prompts = self._prompts(serving, max(c.requests, c.poisson_requests), serving.seed + 11)
        n = serving.output_length

        def body(i: int) -> dict[str, Any]:
            return client.completion_body(models[i % len(models)], prompts[i % len(prompts)], n)

        if c.warmup_requests:
            client.run(client.closed_loop(server.host, server.port, body, c.warmup_requests, 2))
        rows = []
        for level in sorted(set(c.concurrency)):
            progress(f"vllm: {engine} K={k} concurrency {level}")
            count = max(c.requests, 2 * level)
            results, wall = client.run(
                client.closed_loop(server.host, server.port, body, count, level)
            )
            row = load_row(
                engine,
                results,
                wall,
                k_adapters=k,
                arrival="closed",
                concurrency=level,
                rate_per_s=None,
            )
            rows.append(row | {"server_rss_mb": server.rss_mb()})
        for rate in c.poisson_rates:
            progress(f"vllm: {engine} K={k} Poisson {rate}/s")
            arrivals = client.poisson_arrivals(rate, c.poisson_requests, serving.seed)
            results, wall = client.run(client.open_loop(server.host, server.port, body, arrivals))
            row = load_row(
                engine,
                results,
                wall,
                k_adapters=k,
                arrival="poisson",
                concurrency=None,
                rate_per_s=rate,
            )
            rows.append(row | {"server_rss_mb": server.rss_mb()})
        return rows


def _raise_first_error(results: Sequence[client.RequestResult], server: Server) -> None:
    """ServerRequestError with the first failed request's model and the server's message."""
    for r in results:
        if r.error is not None:
            alive = server.process.poll() is None
            state = "" if alive else f" (the server exited with code {server.process.poll()})"
            raise ServerRequestError(f"vLLM request for model '{r.model}' failed{state}: {r.error}")
        if not r.token_ids:
            raise ServerRequestError(f"vLLM returned no token ids for model '{r.model}'")
