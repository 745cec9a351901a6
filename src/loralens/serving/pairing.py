"""Timing that survives a noisy machine: warm-up until stable, then A-B-A pairs in rounds.

Every engine call (B) is timed between two calls of the baseline (A), so that a transient
longer than one call (another process waking up, a frequency change) slows both sides of the
pair and cancels in its ratio. One round times each engine once, in an order shuffled per round
from a fixed seed, sharing each baseline call between its neighbours:

    A  B_2  A  B_0  A  B_1  A        (n engines: 2n + 1 calls)

The baseline of a pair is the geometric mean of its two flanking calls (a linear drift across
the pair cancels too); the pair's log ratio log(B / A) is the unit the verdict tests.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from loralens.serving.base import sync

Timed = tuple[float, Any]  # (wall seconds, the call's result)
DESIGN = "A-B-A: each call between two baseline calls, engine order shuffled per round"


@dataclass(frozen=True)
class WarmupPolicy:
    """Warm up until the last `window` calls of every engine agree within `tolerance`."""

    minimum: int = 1  # calls per engine before stability is judged
    maximum: int = 12  # cap: calls per engine, stable or not
    window: int = 3  # the last k calls that must agree
    tolerance: float = 0.10  # (max - min) / median of those calls


@dataclass
class PairedTimes:
    """Every engine's timed calls and, per call, its pair's baseline (seconds)."""

    samples: dict[str, list[Timed]]  # the baseline's own calls under its name
    baseline_s: dict[str, list[float]]  # per engine: geometric mean of its flanking calls


def _timed(call: Callable[[], Any], device: torch.device) -> Timed:
    """One synchronized call: (wall seconds, result)."""
    sync(device)
    start = time.perf_counter()
    result = call()
    sync(device)
    return time.perf_counter() - start, result


def spread(times: list[float]) -> float:
    """(max - min) / median of a few call times (0 for one call)."""
    x = np.asarray(times, dtype=np.float64)
    return float((x.max() - x.min()) / np.median(x)) if x.size > 1 else 0.0


def warm_until_stable(
    calls: dict[str, Callable[[], Any]], policy: WarmupPolicy, device: torch.device
) -> dict[str, dict[str, Any]]:
    """Untimed calls, engines in turn, until each one's last `window` agree (or the cap).

    Returns per engine: calls made, whether it became stable, the spread of its last window.
    """
    names = list(calls)
    times: dict[str, list[float]] = {n: [] for n in names}
    need = max(policy.minimum, policy.window)
    for rep in range(max(policy.maximum, 1)):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_timed(calls[name], device)[0])
        if rep + 1 >= need and all(is_stable(t, policy) for t in times.values()):
            break
    return {
        n: {
            "calls": len(t),
            "stable": is_stable(t, policy),
            "spread": spread(t[-policy.window :]),
        }
        for n, t in times.items()
    }


def is_stable(times: list[float], policy: WarmupPolicy) -> bool:
    """Whether the last `window` call times agree within the policy's tolerance."""
    if len(times) < max(policy.window, policy.minimum):
        return False
    return spread(times[-policy.window :]) <= policy.tolerance


def round_order(names: list[str], rounds: int, seed: int | str) -> list[list[str]]:
    """The engines' order in each round, shuffled from a fixed seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(rounds):
        order = list(names)
        rng.shuffle(order)
        out.append(order)
    return out


def paired_rounds(
    calls: dict[str, Callable[[], Any]],
    baseline: str,
    rounds: int,
    device: torch.device,
    seed: int | str,
) -> PairedTimes:
    """`rounds` rounds of A-B-A pairs: every engine in `calls` against `calls[baseline]`."""
    engines = [n for n in calls if n != baseline]
    samples: dict[str, list[Timed]] = {n: [] for n in calls}
    flanks: dict[str, list[float]] = {n: [] for n in engines}
    for order in round_order(engines, rounds, seed):
        before = _timed(calls[baseline], device)
        samples[baseline].append(before)
        for name in order:
            samples[name].append(_timed(calls[name], device))
            after = _timed(calls[baseline], device)
            samples[baseline].append(after)
            flanks[name].append(float(np.sqrt(before[0] * after[0])))
            before = after
    return PairedTimes(samples, flanks)
