"""Executors: run a wave of ready stages locally (bounded workers) or as Ray tasks."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from loralens.errors import LoralensError
from loralens.study.runner import error_line, execute_stage
from loralens.study.units import Stage

Batch = list[tuple[Stage, dict[str, str]]]
Result = Iterator[tuple[Stage, str | None, str]]


def _run_one(root: str, stage: Stage, inputs: dict[str, str]) -> tuple[str | None, str]:
    """(artifact path, '') on success or (None, error line) on failure."""
    try:
        return execute_stage(root, stage, inputs), ""
    except Exception as exc:  # a failed stage must not stop independent ones
        return None, error_line(exc)


def worker_threads(workers: int, cpus: int | None = None) -> int:
    """Intra-op threads of each of `workers` local workers: the machine's cores split between
    them (at least one), so that workers never oversubscribe the cores."""
    return max(1, (cpus or os.cpu_count() or 1) // workers)


def _set_threads(threads: int) -> None:
    """A worker process's initializer: torch's intra-op thread count."""
    import torch

    torch.set_num_threads(threads)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` spawned processes, each with its share of the cores."""
    ctx = multiprocessing.get_context("spawn")
    threads = worker_threads(workers)
    return ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_set_threads, initargs=(threads,)
    )


class LocalExecutor:
    """Runs stages in this process (workers=1) or in a pool of worker processes."""

    def __init__(self, root: Path, workers: int = 1) -> None:
        self.root, self.workers = str(root), workers

    def __call__(self, batch: Batch) -> Result:
        """Run a wave of independent stages; yield each as it finishes."""
        if self.workers <= 1:
            for stage, inputs in batch:
                path, error = _run_one(self.root, stage, inputs)
                yield stage, path, error
            return
        with worker_pool(self.workers) as pool:
            futures = {pool.submit(_run_one, self.root, s, i): s for s, i in batch}
            for fut in as_completed(futures):
                path, error = fut.result()
                yield futures[fut], path, error


class RayExecutor:
    """Runs each stage as a Ray task with its CPU/GPU needs; artifacts on a shared path."""

    def __init__(self, root: Path, address: str | None = None, num_cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise LoralensError("executor 'ray' needs ray: pip install 'ray==2.60.0'") from None
        self.ray, self.root = ray, str(root)
        if not ray.is_initialized():
            kwargs = {"address": address} if address else {"num_cpus": num_cpus}
            ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        self.task = ray.remote(_run_one)

    def __call__(self, batch: Batch) -> Result:
        """Submit a wave of stages to Ray; yield each as it finishes."""
        refs = {
            self.task.options(num_cpus=s.cpus, num_gpus=s.gpus).remote(self.root, s, i): s
            for s, i in batch
        }
        remaining = list(refs)
        while remaining:
            ready, remaining = self.ray.wait(remaining, num_returns=1)
            path, error = self.ray.get(ready[0])
            yield refs[ready[0]], path, error
