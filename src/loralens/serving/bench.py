"""`loralens bench serve`: correctness first, then interleaved timing of every engine.

Flow: validate engines and adapters (before loading any weights); add synthetic adapters up to
the largest K; then per mode (classification forward, then generation) load a reference and each
engine (cold start, memory), run the correctness gate, and time only the engines that passed.

Result schema (every value JSON-able; times in ms unless the key says `_s`):

- settings: model, model_path, dtype, device, threads, interop_threads, engines, k_adapters,
  batch_sizes, mixed_batch_size, generation_batch_size, prompt_length, output_length, orders,
  sampling, temperature, warmup, repeats, atol, rtol, num_labels, versions, cpu_count,
  load_average_start/end (other work on the machine)
- adapters: [{name, path, synthetic, ranks, targets, modules_to_save}]
- correctness: [{engine, workload, adapter (name | "__base__" | "mixed"), max_abs_logit_diff
  (None if the engine returns no logits), greedy_equal (None for forward), passed, error}]
- refused: {engine: reason}, engines that failed the gate and were not timed
- failed: {engine: error}, separate-process engines (vLLM) that failed to start or to serve;
  the other engines' results are complete
- vllm (with the `vllm` engine): {overheads: [{concurrency, k_adapters, merged_tokens_per_s,
  lora_tokens_per_s, latency_overhead, throughput_ratio}], merged_vs_lora_greedy: agreement,
  settings: {env, lora, merged: every server setting, command line, VLLM_* variables,
  startup_s, rss_mb_idle}}; its load rows (engines `vllm-merged` and `vllm`, K = 0: the base
  through the LoRA server) are in `rows` with arrival ("closed" | "poisson"), rate_per_s,
  itl_ms, requests_per_s, server_rss_mb, errors; batch_size = concurrency (None: open loop)
- rows: [{engine, workload ("forward" | "generate"), batch_size, k_adapters, order ("single" |
  "round_robin" | "random"), sampling (None for forward), latency_ms, ttft_ms, tpot_ms,
  tokens_per_s, samples_ms (forward), paired_baseline_ms, paired_ratio, warmup,
  overhead_vs_merged, overhead_definition, analytic_extra_flops_ratio}], each *_ms a summary
  {p50, p95, p99, median, mad, n}. forward: latency of one batch call, tokens = prompt tokens;
  generate: per request (row) end to end, TTFT = time to its first token (prefill plus any
  wait for earlier adapter groups), TPOT = (e2e - TTFT) / (new tokens - 1), tokens = generated.
  Every setting first warms up until the last `warmup_window` calls of every engine agree
  within `warmup_tolerance` (at least `warmup`, at most `warmup_max` calls; `warmup`: {calls,
  stable, spread}). Forward settings with `merged` are then timed in `repeats` rounds of A-B-A
  pairs (`serving.pairing`): each engine call between two calls of merged weights serving one
  adapter's batch of the same size (merged itself at K = 1); paired_baseline_ms holds each
  pair's baseline (geometric mean of its two flanking calls) and paired_ratio {hodges_lehmann,
  ci_low, ci_high, confidence_level, median, geometric_mean, pairs, baseline_median_ms,
  baseline_calls_median_ms, design} the per-pair ratios; overhead_vs_merged = hodges_lehmann
  - 1. Generation rows (interleaved, `generate_repeats` rounds): median / median of `merged`'s
  K = 1 row - 1. overhead_definition says which.
- noise_floor: [{workload, batch_size, baseline_median_ms: {setting: ms}, relative_spread,
  detail}]: the same baseline call's median in each forward setting, and how far they spread
- memory: {base_mb, base_params_mb, per_adapter_mb: {engine: MiB}, engine_total_mb,
  adapter_weights_mb, merged_copy_mb, merged_copies_mb, break_even_adapters, method, detail}
- switching: {set_adapter_ms, merge_unmerge_ms, note}
- cold_start_s / cold_start_generate_s: {engine: seconds to load base + every adapter}
- analytic: {extra_flops_ratio, detail}: LoRA FLOPs / base linear FLOPs per token
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import peft
import torch
import transformers

from loralens.config import ServingConfig
from loralens.results.schema_serving import ServingResult
from loralens.serving import analytic
from loralens.serving.adapters import (
    AdapterSpec,
    base_shapes,
    check_adapter,
    head_labels,
    read_adapter,
)
from loralens.serving.base import BaseSource, quiet_transformers
from loralens.serving.errors import ServingError
from loralens.serving.interface import EngineOptions
from loralens.serving.pairing import DESIGN
from loralens.serving.registry import check_servable, make_engine, resolve_engines
from loralens.serving.runner import BenchContext, Progress, run_mode
from loralens.serving.synthetic import make_synthetic_adapters


def run_serve_bench(
    model_name: str,
    adapter_dirs: Sequence[Path],
    serving: ServingConfig,
    engines: Sequence[str] | None = None,
    *,
    progress: Progress | None = None,
    strict: bool = True,
) -> ServingResult:
    """Check, then time, serving engines with LoRA adapters; the result validated (schema above).

    With `strict`, an engine that cannot serve one of the adapters (DoRA, a rank above its
    maximum) is an error; otherwise it is left out and recorded in `refused`, as long as one
    engine remains (a study serves whatever its methods produced).
    """
    names = resolve_engines(list(engines) if engines else serving.engines)
    device = resolve_device(serving.device)
    say = progress or (lambda _msg: None)
    with (
        pinned_threads(serving.threads) as threads,
        quiet_transformers(),
        tempfile.TemporaryDirectory(prefix="loralens-serve-") as tmp,
    ):
        refused: dict[str, str] = {}
        ctx = prepare(
            model_name,
            adapter_dirs,
            serving,
            names,
            device,
            Path(tmp),
            say,
            None if strict else refused,
        )
        result = _skeleton(ctx, threads)
        result["refused"].update(refused)
        for mode in ("classify", "generate"):
            run_mode(ctx, mode, result)
        result["settings"]["load_average_end"] = _load_average()
    return ServingResult.model_validate(result)


def prepare(
    model_name: str,
    adapter_dirs: Sequence[Path],
    serving: ServingConfig,
    engine_names: list[str],
    device: torch.device,
    tmp: Path,
    progress: Progress,
    refused: dict[str, str] | None = None,
) -> BenchContext:
    """Validate engines and adapters against the base, then add synthetic adapters up to max K.

    Engines unable to serve an adapter raise, or, given a `refused` dict, are dropped into it.
    """
    options = EngineOptions(device=device, max_rank=serving.max_rank, serving=serving)
    engines = {n: make_engine(n, options) for n in engine_names}
    trained = _unique_names([read_adapter(Path(p)) for p in adapter_dirs])
    num_labels = head_labels(trained) or serving.num_labels
    config = BaseSource(model_name, "classify", device, num_labels).config()
    base = base_shapes(model_name, config, num_labels)
    for spec in trained:
        check_adapter(spec, base)
    _drop_unservable(engines, trained, refused)
    missing = max(serving.num_adapters) - len(trained)
    synthetic: list[AdapterSpec] = []
    if missing > 0:
        progress(f"writing {missing} synthetic adapter(s)")
        paths = make_synthetic_adapters(
            model_name,
            tmp / "synthetic",
            missing,
            ranks=serving.synthetic_ranks,
            targets=serving.synthetic_targets,
            alpha=serving.synthetic_alpha,
            num_labels=num_labels,
            like=trained[0] if trained else None,
            seed=serving.seed,
        )
        synthetic = [read_adapter(p) for p in paths]
    adapters = _unique_names(trained + synthetic)
    for spec in adapters[len(trained) :]:
        check_adapter(spec, base)
        for engine in engines.values():
            check_servable(engine, [spec])
    return BenchContext(
        model_name, serving, device, options, engines, adapters, base, num_labels, progress
    )


def _drop_unservable(
    engines: dict[str, Any], adapters: list[AdapterSpec], refused: dict[str, str] | None
) -> None:
    """Raise for an engine that cannot serve an adapter, or move it to `refused` (one must stay)."""
    errors: dict[str, ServingError] = {}
    for name, engine in engines.items():
        try:
            check_servable(engine, adapters)
        except ServingError as exc:
            errors[name] = exc
    if errors and (refused is None or len(errors) == len(engines)):
        raise next(iter(errors.values()))
    for name, exc in errors.items():
        del engines[name]
        refused[name] = f"cannot serve the study's adapters: {exc}"


def _unique_names(specs: list[AdapterSpec]) -> list[AdapterSpec]:
    """Rename duplicates (two runs both called `adapter`) as name-2, name-3, ..."""
    seen: dict[str, int] = {}
    out = []
    for spec in specs:
        count = seen.get(spec.name, 0) + 1
        seen[spec.name] = count
        out.append(spec if count == 1 else dataclasses.replace(spec, name=f"{spec.name}-{count}"))
    return out


def resolve_device(choice: str) -> torch.device:
    """cpu, or cuda when asked for (or `auto` and available)."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise ServingError("serving.device is cuda but no CUDA device is available")
    cuda = choice == "cuda" or (choice == "auto" and torch.cuda.is_available())
    return torch.device("cuda" if cuda else "cpu")


@contextlib.contextmanager
def pinned_threads(threads: int | None) -> Iterator[int]:
    """torch intra-op threads set to `threads` (default: unchanged) for the run, then restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def _load_average() -> list[float] | None:
    """1/5/15-minute load average (other work on the machine makes timings noisy)."""
    with contextlib.suppress(OSError, AttributeError):
        return [round(x, 2) for x in os.getloadavg()]
    return None


def _skeleton(ctx: BenchContext, threads: int) -> dict[str, Any]:
    """The result dict before any measurement: settings, adapters and the analytic block."""
    s = ctx.serving
    settings = {
        "model": ctx.model_name,
        "model_path": str(BaseSource(ctx.model_name, "classify", ctx.device).path),
        "dtype": "float32",
        "device": str(ctx.device),
        "threads": threads,
        "interop_threads": torch.get_num_interop_threads(),
        "engines": list(ctx.engines),
        "k_adapters": sorted(set(s.num_adapters)),
        "batch_sizes": sorted(set(s.batch_sizes)),
        "mixed_batch_size": s.mixed_batch_size or max(s.batch_sizes),
        "generation_batch_size": s.generation_batch_size,
        "prompt_length": s.prompt_length,
        "output_length": s.output_length,
        "orders": list(s.orders),
        "sampling": list(s.sampling),
        "temperature": s.temperature,
        "warmup": s.warmup,
        "warmup_max": max(s.warmup, s.warmup_max),
        "warmup_window": s.warmup_window,
        "warmup_tolerance": s.warmup_tolerance,
        "repeats": s.repeats,
        "generate_repeats": s.generate_repeats or s.repeats,
        "pairing": DESIGN,
        "atol": s.atol,
        "rtol": s.rtol,
        "num_labels": ctx.num_labels,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
            "python": platform.python_version(),
        },
        "cpu_count": os.cpu_count(),
        "load_average_start": _load_average(),
    }
    return {
        "settings": settings,
        "adapters": [a.describe() for a in ctx.adapters],
        "correctness": [],
        "refused": {},
        "failed": {},
        "rows": [],
        "noise_floor": [],
        "memory": {},
        "switching": {},
        "cold_start_s": {},
        "cold_start_generate_s": {},
        "analytic": analytic.extra_flops(ctx.adapters, ctx.base),
    }
