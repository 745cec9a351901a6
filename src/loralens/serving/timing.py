"""Timing and memory primitives: interleaved repeats, robust summaries, process memory."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import psutil
import torch

from loralens.serving.base import sync


def summarize(samples_ms: list[float]) -> dict[str, float]:
    """p50/p95/p99, median and MAD (median absolute deviation) of samples in ms."""
    x = np.asarray(samples_ms, dtype=np.float64)
    median = float(np.median(x))
    return {
        "p50": float(np.percentile(x, 50)),
        "p95": float(np.percentile(x, 95)),
        "p99": float(np.percentile(x, 99)),
        "median": median,
        "mad": float(np.median(np.abs(x - median))),
        "n": len(samples_ms),
    }


def interleaved(
    calls: dict[str, Callable[[], Any]], warmup: int, repeats: int, device: torch.device
) -> dict[str, list[tuple[float, Any]]]:
    """(wall seconds, result) of each call per repeat; the engine order rotates every round."""
    names = list(calls)
    out: dict[str, list[tuple[float, Any]]] = {n: [] for n in names}
    for rep in range(warmup + repeats):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            sync(device)
            start = time.perf_counter()
            result = calls[name]()
            sync(device)
            if rep >= warmup:
                out[name].append((time.perf_counter() - start, result))
    return out


def time_ms(fn: Callable[[], Any], repeats: int, device: torch.device) -> list[float]:
    """Wall time in ms of `repeats` calls of `fn` (after one untimed call)."""
    fn()
    samples = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


def _trim_heap() -> None:
    """Return freed heap pages to the OS (glibc), so RSS differences mean something."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def memory_mb(device: torch.device) -> float:
    """Memory in use: CUDA allocated on a GPU, else this process's resident set, in MiB."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return torch.cuda.memory_allocated(device) / 2**20
    _trim_heap()
    return psutil.Process().memory_info().rss / 2**20
