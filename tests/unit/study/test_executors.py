"""Local workers split the machine's cores between them instead of oversubscribing them."""

from __future__ import annotations

import torch

from loralens.study.executors import worker_pool, worker_threads


def test_worker_threads_split_the_cores() -> None:
    assert worker_threads(1, cpus=8) == 8
    assert worker_threads(2, cpus=8) == 4
    assert worker_threads(3, cpus=8) == 2
    assert worker_threads(4, cpus=2) == 1  # never zero


def test_each_worker_process_runs_with_its_share() -> None:
    with worker_pool(2) as pool:
        seen = {pool.submit(torch.get_num_threads).result() for _ in range(4)}
    assert seen == {worker_threads(2)}
