"""One benchmark mode end to end: load (cold start, memory), correctness gate, timing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from loralens.config import ServingConfig
from loralens.serving import analytic
from loralens.serving.adapters import AdapterSpec, BaseShapes
from loralens.serving.base import BaseSource, Mode
from loralens.serving.correctness import Reference, check_engine, failed_engines, mixed_plan
from loralens.serving.engines import UnmergedEngine
from loralens.serving.errors import ServingError
from loralens.serving.interface import Engine, EngineOptions, Sampling
from loralens.serving.measure import (
    add_overheads,
    add_pairs,
    memory_summary,
    noise_floor,
    result_row,
    switching_cost,
)
from loralens.serving.pairing import WarmupPolicy, paired_rounds, warm_until_stable
from loralens.serving.timing import interleaved, memory_mb
from loralens.serving.workloads import (
    Setting,
    Workload,
    assign,
    check_lengths,
    forward_settings,
    generate_settings,
    make_batch,
)

Progress = Callable[[str], None]


@dataclass
class BenchContext:
    """Everything a benchmark mode needs, fixed before anything is timed."""

    model_name: str
    serving: ServingConfig
    device: torch.device
    options: EngineOptions
    engines: dict[str, Engine]
    adapters: list[AdapterSpec]
    base: BaseShapes
    num_labels: int
    progress: Progress


def run_mode(ctx: BenchContext, mode: Mode, result: dict[str, Any]) -> None:
    """Load, check and time every engine in one mode, filling `result` in place."""
    workload: Workload = "forward" if mode == "classify" else "generate"
    engines = {
        n: e
        for n, e in ctx.engines.items()
        if _supports(e, workload) and n not in result["refused"]
    }
    if not engines:
        return
    source = BaseSource(ctx.model_name, mode, ctx.device, ctx.num_labels)
    ref, switching = _reference(ctx, source, workload, with_switching=mode == "classify")
    # measured after the reference is gone, in the heap the engines then load into
    base_mb = _measure_base(source) if mode == "classify" else None
    cold: dict[str, float] = {}
    increments: dict[str, float] = {}
    # in-process engines together; each separate-process engine (vLLM) alone afterwards, so an
    # idle server never competes with in-process timings and its failure stays its own
    local = {n: e for n, e in engines.items() if e.capabilities.in_process}
    groups = [local, *({n: e} for n, e in engines.items() if n not in local)]
    for group in filter(None, groups):
        _run_group(ctx, ref, group, source, workload, result, cold, increments)
    add_overheads(result["rows"])
    if mode == "classify":
        result["noise_floor"] = noise_floor(result["rows"])
    if mode == "generate":
        result["cold_start_generate_s"] = cold
        return
    result["cold_start_s"] = cold
    result["memory"] = _memory(ctx, base_mb, increments)
    result["switching"] = switching


def _reference(
    ctx: BenchContext, source: BaseSource, workload: Workload, with_switching: bool
) -> tuple[Reference, dict[str, Any] | None]:
    """The correctness gate's reference outputs (PEFT, one adapter active at a time) and, if
    asked, the cost of switching its adapters; the reference model is dropped before any engine
    loads, so the timed engines are the only models in memory."""
    ctx.progress(f"{workload}: loading the reference (PEFT, one adapter active at a time)")
    engine = UnmergedEngine(ctx.options)
    try:
        engine.load(source, ctx.adapters)
        s = ctx.serving
        groups: list[str | None] = [*(a.name for a in ctx.adapters), None]
        rows = 2 * len(groups)
        padding = "right" if workload == "forward" else "left"
        lengths = check_lengths(rows, s.prompt_length, s.seed)
        batch = make_batch(source.tokenizer, lengths, padding, s.seed + 1).to(ctx.device)
        n_tokens = min(s.output_length, s.check_tokens)
        ctx.progress(f"{workload}: reference outputs ({rows} rows, {len(groups)} groups)")
        ref = Reference(engine, batch, mixed_plan(rows, groups, s.seed), workload, n_tokens)
        switching = None
        if with_switching:  # after the outputs: merging and unmerging rounds the weights
            names = [a.name for a in ctx.adapters]
            switching = switching_cost(engine.peft, names, s.repeats, ctx.device)
    finally:
        engine.close()
    return ref, switching


def _run_group(
    ctx: BenchContext,
    ref: Reference,
    engines: dict[str, Engine],
    source: BaseSource,
    workload: Workload,
    result: dict[str, Any],
    cold: dict[str, float],
    increments: dict[str, float],
) -> None:
    """Load, check and time a group of engines (then their extra results), closing them after."""
    to_close = list(engines.values())  # also those that fail to load
    try:
        c, inc = _load_engines(ctx, engines, source, result)
        cold |= c
        increments |= inc
        entries = _check(ctx, ref, engines, workload)
        result["correctness"] += entries
        refused = failed_engines(entries)
        result["refused"].update(refused)
        timed = {n: e for n, e in engines.items() if n not in refused}
        in_process = all(e.capabilities.in_process for e in timed.values())
        try:
            result["rows"] += _time_all(ctx, timed, source, workload)
        except ServingError as exc:
            if in_process:
                raise
            for name in timed:
                _fail(result, name, f"failed while timed: {exc}")
            return
        if workload == "generate":
            _extra_results(ctx, timed, result)
    finally:
        for engine in to_close:
            engine.close()


def _fail(result: dict[str, Any], name: str, why: str) -> None:
    """Record that a separate-process engine failed (its other results are kept)."""
    result["refused"][name] = why
    result.setdefault("failed", {})[name] = why


def _extra_results(ctx: BenchContext, engines: dict[str, Engine], result: dict[str, Any]) -> None:
    """Engine-specific measurements (vLLM under load): rows added, the rest under its name."""
    for name, engine in engines.items():
        extra = getattr(engine, "extra_results", None)
        if extra is None or name in result["refused"]:
            continue
        try:
            block = extra(ctx.serving, ctx.progress)
        except ServingError as exc:
            _fail(result, name, f"failed under load: {exc}")
            continue
        result["rows"] += block.pop("rows")
        result[name] = block


def _supports(engine: Engine, workload: Workload) -> bool:
    caps = engine.capabilities
    return caps.supports_forward if workload == "forward" else caps.supports_generate


def _measure_base(source: BaseSource) -> float:
    """Memory of one bare base copy (MiB)."""
    before = memory_mb(source.device)
    model = source.load()
    after = memory_mb(source.device)
    del model
    return after - before


def _load_engines(
    ctx: BenchContext, engines: dict[str, Engine], source: BaseSource, result: dict[str, Any]
) -> tuple[dict[str, float], dict[str, float]]:
    """Cold-start seconds and memory increment (MiB) of loading each engine with every adapter.

    A separate-process engine that fails to start (vLLM) is dropped from `engines` and its error
    recorded in `result["refused"]`; the other engines go on.
    """
    cold: dict[str, float] = {}
    increments: dict[str, float] = {}
    for name, engine in list(engines.items()):
        ctx.progress(f"{source.mode}: loading engine {name}")
        before = memory_mb(ctx.device)
        start = time.perf_counter()
        try:
            engine.load(source, ctx.adapters)
        except ServingError as exc:
            if engine.capabilities.in_process:
                raise
            _fail(result, name, f"failed to start: {exc}")
            del engines[name]
            continue
        cold[name] = time.perf_counter() - start
        if engine.capabilities.in_process:
            increments[name] = memory_mb(ctx.device) - before
    return cold, increments


def _check(
    ctx: BenchContext, ref: Reference, engines: dict[str, Engine], workload: Workload
) -> list[dict[str, Any]]:
    """Correctness entries of every engine on one batch mixing every adapter and the base."""
    s = ctx.serving
    ctx.progress(f"{workload}: correctness gate ({ref.batch.size} rows, {len(ref.groups)} groups)")
    entries = []
    for name, engine in engines.items():
        entries += check_engine(name, engine, ref, workload, s.atol, s.rtol)
    return entries


def _time_all(
    ctx: BenchContext, engines: dict[str, Engine], source: BaseSource, workload: Workload
) -> list[dict[str, Any]]:
    """Rows for every setting of the workload: warm-up until stable, then timed rounds.

    Forward settings with `merged` are timed in A-B-A pairs against merged weights serving one
    adapter's batch of the same size (`serving.pairing`); the others interleave the engines.
    """
    if not engines:
        return []
    s = ctx.serving
    settings = forward_settings(s) if workload == "forward" else generate_settings(s)
    names = [a.name for a in ctx.adapters]
    policy = warmup_policy(s)
    rows = []
    for setting in settings:
        padding = "right" if workload == "forward" else "left"
        lengths = [s.prompt_length] * setting.batch_size
        batch = make_batch(source.tokenizer, lengths, padding, s.seed + setting.batch_size)
        batch = batch.to(ctx.device)
        plan = assign(setting, names, s.seed)
        calls = {n: _call(e, setting, batch, plan, s) for n, e in engines.items()}
        paired = workload == "forward" and "merged" in engines
        baseline = "merged"
        if paired and setting.k_adapters > 1:
            # The baseline of the overhead: merged weights serving one adapter's batch of the
            # same size, timed around every engine call (A-B-A pairs).
            one = [plan[0]] * setting.batch_size
            calls[PAIRED_BASELINE] = _call(engines["merged"], setting, batch, one, s)
            baseline = PAIRED_BASELINE
        ctx.progress(
            f"{workload}: B={setting.batch_size} K={setting.k_adapters} {setting.order}"
            + ("" if setting.sampling is None else f" sampling={setting.sampling}")
        )
        warm = warm_until_stable(calls, policy, ctx.device)
        samples, flanks = _rounds(ctx, calls, baseline if paired else None, f"{s.seed}-{setting}")
        used = [a for a in ctx.adapters if a.name in set(plan)]
        ratio = analytic.row_ratio(used, ctx.base)
        for name in engines:
            row = result_row(name, setting, samples[name], sum(lengths), s.output_length)
            row["analytic_extra_flops_ratio"] = ratio
            row["warmup"] = warm[name]
            if name in flanks:
                add_pairs(row, flanks[name], samples[baseline])
            rows.append(row)
    return rows


def _rounds(
    ctx: BenchContext, calls: dict[str, Callable[[], Any]], baseline: str | None, seed: str
) -> tuple[dict[str, list[tuple[float, Any]]], dict[str, list[float]]]:
    """(timed calls, per-pair baselines): A-B-A pairs against `baseline`, or (None) the engines
    interleaved for the generation rounds, with no pairs."""
    s = ctx.serving
    if baseline is None:
        return interleaved(calls, 0, s.generate_repeats or s.repeats, ctx.device), {}
    timed = paired_rounds(calls, baseline, s.repeats, ctx.device, seed)
    return timed.samples, timed.baseline_s


def warmup_policy(s: ServingConfig) -> WarmupPolicy:
    """The warm-up the config asks for (its cap never below its minimum)."""
    return WarmupPolicy(s.warmup, max(s.warmup, s.warmup_max), s.warmup_window, s.warmup_tolerance)


PAIRED_BASELINE = "merged, one adapter"  # the timed call every forward overhead is paired with


def _call(
    engine: Engine, setting: Setting, batch: Any, plan: list[str], s: ServingConfig
) -> Callable[[], Any]:
    """The timed call of one engine in one setting."""
    if setting.workload == "forward":
        return lambda: engine.forward(batch, plan)
    sampling = Sampling(greedy=not setting.sampling, temperature=s.temperature, seed=s.seed)
    return lambda: engine.generate(batch, plan, s.output_length, sampling)


def _memory(ctx: BenchContext, base_mb: float | None, increments: dict[str, float]) -> dict:
    """The memory block from measured increments and analytic sizes."""
    method = "torch.cuda.memory_allocated" if ctx.device.type == "cuda" else "process RSS"
    adapter_mb = sum(analytic.adapter_mb(a) for a in ctx.adapters) / len(ctx.adapters)
    return memory_summary(
        base_mb,
        increments,
        len(ctx.adapters),
        analytic.base_mb(ctx.base),
        adapter_mb,
        f"{method} after gc (and malloc_trim on Linux), increment of loading each engine",
    )
