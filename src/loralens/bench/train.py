"""Training-throughput benchmark: full fine-tuning vs LoRA against the machine's GEMM FLOP/s.

A step is what the Trainer does per batch: forward, backward, gradient clipping and a step of
the optimizer the Trainer builds (fused AdamW on this torch), on a real rotten_tomatoes batch
padded to `length`. Each method is timed after warm-up steps (median and MAD over repeats). Its
FLOPs are the analytic matmul count of `bench.flops`, cross-checked by
`torch.utils.flop_counter.FlopCounterMode` on one forward + backward of the same model (with
eager attention, whose products the counter sees; PyTorch's CPU SDPA kernel is invisible to it).
The limit is the float32 FLOP/s of plain square `torch.mm` at the same thread count: the fraction
of it a step reaches says how much of the time goes to matmuls at full speed.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from loralens.bench.cka import torch_threads
from loralens.bench.flops import DecoderShape, step_flops
from loralens.errors import ConfigError, ModelError
from loralens.models.registry import REGISTRY, resolve_model

METHODS = ("full", "lora")
PHASES = ("forward", "backward", "optimizer")
GEMM_SIZES = (1024, 2048)
LLAMA_TYPES = ("llama", "mistral", "qwen2")  # the block layout bench.flops counts


def median_mad(times: list[float]) -> tuple[float, float]:
    """Median and median absolute deviation."""
    med = statistics.median(times)
    return med, statistics.median(abs(t - med) for t in times)


def _timed(fn: Callable[[], object], warmup: int, repeats: int) -> list[float]:
    """Wall times in seconds of `repeats` calls of `fn` after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def gemm_limit(
    sizes: tuple[int, ...] = GEMM_SIZES, repeats: int = 5, warmup: int = 2, seed: int = 0
) -> list[dict[str, Any]]:
    """Float32 FLOP/s (2n³/t, median t) of n×n `torch.mm` at the current thread count, per n."""
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for n in sizes:
        a, b = (torch.randn(n, n, generator=gen) for _ in range(2))  # (n, n) float32
        out = torch.empty(n, n)
        med, mad = median_mad(
            _timed(lambda a=a, b=b, o=out: torch.mm(a, b, out=o), warmup, repeats)
        )
        rows.append(
            {"n": n, "threads": torch.get_num_threads(), "seconds": med, "mad_s": mad}
            | {"flops_per_s": 2 * n**3 / med}
        )
    return rows


def check_args(batch: int, length: int, repeats: int, warmup: int, threads: int | None) -> None:
    """Raise a ConfigError naming the first setting out of its allowed range."""
    checks = [
        ("--batch", batch, 1),
        ("--length", length, 2),
        ("--repeats", repeats, 1),
        ("--warmup", warmup, 0),
        ("--threads", 1 if threads is None else threads, 1),
    ]
    for flag, value, low in checks:
        if value < low:
            raise ConfigError(f"bench train: {flag} must be an integer ≥ {low}, got {value}")


def check_model(name: str) -> None:
    """Raise a ModelError, before any timing, if `name` is unknown or a registered encoder."""
    spec = REGISTRY.get(name)
    if spec is not None and spec.kind != "decoder":
        raise ModelError(_not_llama(name, spec.kind))
    resolve_model(name)  # unknown names raise here, listing the known ones


def _not_llama(name: str, kind: str) -> str:
    allowed = [n for n, spec in sorted(REGISTRY.items()) if spec.kind == "decoder"]
    return (
        f"bench train counts the FLOPs of Llama-style decoders; '{name}' is of type {kind} "
        f"(allowed: {', '.join(allowed)}, or a Llama-style Hugging Face id or folder)"
    )


def _batch(tok: Any, batch: int, length: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The first `batch` rotten_tomatoes training examples, padded to `length` and masked."""
    from loralens.data import load_task

    data = load_task("rotten_tomatoes").splits.train[:batch]
    if len(data) < batch:
        raise ConfigError(f"bench train: --batch must be ≤ {len(data)} (the training examples)")
    texts = [" ".join(e.texts) for e in data]
    enc = tok(texts, truncation=True, max_length=length, padding="max_length", return_tensors="pt")
    inputs = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}  # (B, T)
    return inputs, torch.tensor([e.label for e in data])  # (B,)


def _counted_flops(model: Any, inputs: dict, labels: torch.Tensor) -> int:
    """FlopCounterMode's FLOPs of one forward + backward, attention switched to eager for it."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    previous = base.config._attn_implementation
    base.set_attn_implementation("eager")
    try:
        with FlopCounterMode(display=False) as counter:
            model(**inputs, labels=labels).loss.backward()
    finally:
        base.set_attn_implementation(previous)
        model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def load_for_bench(model_name: str, method: str) -> tuple[Any, Any, Any]:
    """(model, tokenizer, run config) as a training run builds them, Llama-style decoders only."""
    from loralens.config import load_config
    from loralens.training.setup import build_model

    cfg = load_config(None, [f"model.name={model_name}", f"method={method}"])
    model, tok = build_model(cfg, 2)
    if model.config.model_type not in LLAMA_TYPES:
        raise ModelError(_not_llama(model_name, model.config.model_type))
    return model, tok, cfg


def trainer_optimizer(cfg, model) -> torch.optim.Optimizer:
    """The optimizer a training run's Trainer builds for `model` (class and settings from the
    run's TrainingArguments: on this torch, fused AdamW), over its trainable parameters."""
    import tempfile

    from transformers import Trainer

    from loralens.training.setup import training_arguments

    with tempfile.TemporaryDirectory() as tmp:
        args = training_arguments(cfg, Path(tmp), "cpu", "accuracy")
    cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(args, model)
    return cls([p for p in model.parameters() if p.requires_grad], **kwargs)


def time_method(
    model_name: str, method: str, batch: int, length: int, warmup: int, repeats: int
) -> dict[str, Any]:
    """Time training steps of one method and count their FLOPs (analytic and counted)."""
    model, tok, cfg = load_for_bench(model_name, method)
    model.train()
    inputs, labels = _batch(tok, batch, length)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = trainer_optimizer(cfg, model)
    lora = method != "full"
    targets = tuple(sorted(model.peft_config["default"].target_modules)) if lora else ()
    flops = step_flops(
        DecoderShape.from_config(model.config),
        batch,
        length,
        lora_rank=cfg.lora.rank if lora else None,
        lora_targets=targets,
    )
    counted = _counted_flops(model, inputs, labels)

    phases = []  # (forward, backward, clip + AdamW) seconds of each timed step
    for i in range(warmup + repeats):
        start = time.perf_counter()
        loss = model(**inputs, labels=labels).loss
        forward = time.perf_counter()
        loss.backward()
        backward = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= warmup:
            phases.append((forward - start, backward - forward, time.perf_counter() - backward))
    times = [sum(p) for p in phases]
    med, mad = median_mad(times)
    phase = {k: statistics.median(p[j] for p in phases) for j, k in enumerate(PHASES)}
    real = int(inputs["attention_mask"].sum())
    return {
        "method": method,
        "lora": {"rank": cfg.lora.rank, "targets": list(targets)} if lora else None,
        "trainable": sum(p.numel() for p in params),
        "total_params": sum(p.numel() for p in model.parameters()),
        "attention": model.config._attn_implementation,
        "step_s": med,
        "mad_s": mad,
        "times_s": times,
        "phase_s": phase,  # medians of each phase
        "forward_flops_per_s": flops.forward / phase["forward"],
        "backward_flops_per_s": flops.backward / phase["backward"],
        "real_tokens": real,
        "tokens_per_s": real / med,
        "positions_per_s": batch * length / med,
        "flops": flops.as_dict(),
        "counted_flops": counted,
        "flops_per_s": flops.total / med,
        "counted_flops_per_s": counted / med,
    }


def run_train_bench(
    model: str = "smollm2-135m",
    batch: int = 16,
    length: int = 64,
    repeats: int = 5,
    warmup: int = 1,
    *,
    threads: int | None = None,
    methods: tuple[str, ...] = METHODS,
    progress: Callable[[str], None] | None = None,
    gemm_sizes: tuple[int, ...] = GEMM_SIZES,
) -> dict[str, Any]:
    """The GEMM limit, then each method's step time, tokens/s and FLOP/s; a JSON-able dict."""
    check_args(batch, length, repeats, warmup, threads)
    check_model(model)
    say = progress or (lambda msg: None)
    load_before = os.getloadavg()[0]
    with torch_threads(threads):
        config: dict[str, Any] = {"model": model, "batch": batch, "length": length}
        config |= {"repeats": repeats, "warmup": warmup, "cpu_count": os.cpu_count()}
        config |= {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
        config |= {"python": platform.python_version(), "machine": platform.machine()}
        say(f"GEMM limit: float32 torch.mm, n = {', '.join(map(str, gemm_sizes))}")
        gemm = [g | {"when": "before"} for g in gemm_limit(gemm_sizes)]
        rows = []
        for method in methods:
            say(f"{method}: {warmup} warm-up + {repeats} timed steps of {batch} × {length}")
            rows.append(time_method(model, method, batch, length, warmup, repeats))
        say("GEMM limit again (a busy machine shows as a difference)")
        gemm += [g | {"when": "after"} for g in gemm_limit(gemm_sizes)]
    limit = max(g["flops_per_s"] for g in gemm)
    for row in rows:
        row["fraction_of_limit"] = row["flops_per_s"] / limit
    config["load_average_1min"] = [load_before, os.getloadavg()[0]]  # before, after
    return {"config": config, "gemm": gemm, "limit_flops_per_s": limit, "rows": rows}


NOTES = [
    "FLOPs: matmul FLOPs (multiply + add = 2) from the model config, bench/flops.py; padding "
    "positions included, attention over the full T×T square",
    "counted: torch FlopCounterMode's FLOPs of one forward + backward of the same model (eager "
    "attention) over the analytic count",
    "tokens/s counts real (non-padding) tokens; positions/s counts batch × length",
    "fwd/bwd/opt s: median seconds of the forward, the backward, and clipping + AdamW + zeroing; "
    "fwd, bwd: GFLOP/s of the forward and the backward alone",
    "limit: the fastest float32 n×n torch.mm above (before and after the steps), same threads; "
    "AdamW, clipping, norms, softmax, SiLU are element-wise work outside the count, paid for in "
    "the step time",
]


def format_train_bench(result: dict[str, Any]) -> str:
    """Render a `run_train_bench` result as a plain-text table."""
    cfg, g = result["config"], 1e9
    real = result["rows"][0]["real_tokens"] if result["rows"] else 0
    lines = [
        f"Training-step benchmark: {cfg['model']}, batch {cfg['batch']} × {cfg['length']} tokens "
        f"({real} real), fp32, {cfg['repeats']} timed steps after {cfg['warmup']} warm-up "
        f"(median ± MAD), torch {cfg['torch']} ({cfg['torch_threads']} threads, "
        f"{cfg['cpu_count']} CPUs), 1-min load average {cfg['load_average_1min'][0]:.1f} before "
        f"and {cfg['load_average_1min'][1]:.1f} after",
        "GEMM limit (float32 torch.mm, n×n, GFLOP/s): "
        + ", ".join(f"{r['when']} n={r['n']} {r['flops_per_s'] / g:.1f}" for r in result["gemm"])
        + f" -> limit {result['limit_flops_per_s'] / g:.1f} GFLOP/s",
        "",
        f"{'method':<6} {'trainable':>11} {'step s':>7} {'±MAD':>6} {'tokens/s':>8} "
        f"{'pos/s':>6} {'fwd/bwd/opt s':>15} {'GFLOP fwd+bwd':>15} {'bwd/fwd':>7} {'counted':>8} "
        f"{'GFLOP/s':>7} {'fwd':>5} {'bwd':>5} {'of limit':>8}",
    ]
    lines.append("-" * len(lines[-1]))
    for r in result["rows"]:
        f = r["flops"]
        split = f"{f['forward'] / g:.4g}+{f['backward'] / g:.4g}"
        phases = "/".join(f"{r['phase_s'][k]:.2f}" for k in PHASES)
        lines.append(
            f"{r['method']:<6} {r['trainable']:>11,} {r['step_s']:>7.2f} {r['mad_s']:>6.2f} "
            f"{r['tokens_per_s']:>8.0f} {r['positions_per_s']:>6.0f} {phases:>15} {split:>15} "
            f"{f['backward_over_forward']:>7.2f} {r['counted_flops'] / f['total']:>7.1%} "
            f"{r['flops_per_s'] / g:>7.1f} {r['forward_flops_per_s'] / g:>5.0f} "
            f"{r['backward_flops_per_s'] / g:>5.0f} {r['fraction_of_limit']:>8.1%}"
        )
    lines += ["", *(f"note: {n}" for n in NOTES)]
    return "\n".join(lines)
