"""Power of the serving verdict (part C) by simulation, under a machine's timing noise.

    python -m loralens.bench.serving_power [--from serving.json] [--sims 1000]

A simulated round times one engine call B between two baseline calls A (the benchmark's A-B-A
pairs, `loralens.serving.pairing`). Every call's time is the baseline's cost, times the
round's load level (swings between rounds, shared by the round's calls), times a slow drift
within the round (a random walk from call to call), times the call's own noise; B also costs
the true overhead. A transient slows one call of one round by `transient` (the worst case for
a pair: it hits B and neither of its flanks). The noise can be read from a benchmark's result
(`--from`): the per-pair log ratios' robust spread gives the per-call noise.

Prints, per number of pairs, how often part C says "supported" with the true overhead at the
threshold (its false-positive rate), at 20% and at 10%, tested inside H (alpha/2) and alone
(alpha), for the signed-rank test the verdict uses and for a t-test on the same pairs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from loralens.stats.signed_rank import paired_signed_rank_log_ratio


@dataclass(frozen=True)
class Noise:
    """Log-scale timing noise of a machine (standard deviations of natural logs)."""

    call_sd: float = 0.03  # each call's own noise
    swing_sd: float = 0.12  # load level of a round (cancels within a pair)
    drift_sd: float = 0.01  # random-walk step from one call to the next within a round
    transient: float = 0.0  # one call of one round slowed by this fraction (0: none)
    transient_call: int | None = 1  # which call of A-B-A it hits (1: B; None: any, at random)


def simulate_pairs(
    rng: np.random.Generator, overhead: float, pairs: int, noise: Noise
) -> tuple[np.ndarray, np.ndarray]:
    """(engine calls, their pairs' baselines) in seconds: `pairs` rounds of A-B-A. (pairs,) x2"""
    load = rng.normal(0.0, noise.swing_sd, (pairs, 1))  # (pairs, 1)
    walk = np.cumsum(rng.normal(0.0, noise.drift_sd, (pairs, 3)), axis=1)  # (pairs, 3)
    calls = 0.3 * np.exp(load + walk + rng.normal(0.0, noise.call_sd, (pairs, 3)))
    calls[:, 1] *= 1.0 + overhead  # the middle call of each round is the engine's
    if noise.transient:
        where = rng.integers(3) if noise.transient_call is None else noise.transient_call
        calls[rng.integers(pairs), where] *= 1.0 + noise.transient
    return calls[:, 1], np.sqrt(calls[:, 0] * calls[:, 2])


def supported(engine: np.ndarray, baseline: np.ndarray, limit: float, alpha: float) -> bool:
    """Whether part C says "supported" at one-sided level `alpha` (the verdict's test)."""
    r = paired_signed_rank_log_ratio(
        engine, baseline, threshold=1 + limit, alternative="less", confidence_level=1 - 2 * alpha
    )
    return r.p_value < alpha


def t_supported(engine: np.ndarray, baseline: np.ndarray, limit: float, alpha: float) -> bool:
    """The same decision by a one-sided t-test on the per-pair log ratios (for comparison)."""
    logs = np.log(engine) - np.log(baseline)
    return stats.ttest_1samp(logs, math.log(1 + limit), alternative="less").pvalue < alpha


def rate(
    rng: np.random.Generator,
    overhead: float,
    pairs: int,
    noise: Noise,
    alpha: float,
    sims: int,
    limit: float = 0.30,
    test=supported,
) -> float:
    """Fraction of `sims` simulated benchmarks in which part C says "supported"."""
    hits = sum(
        test(*simulate_pairs(rng, overhead, pairs, noise), limit, alpha) for _ in range(sims)
    )
    return hits / sims


def noise_from(path: Path, engine: str = "peft-mixed") -> Noise:
    """Per-call noise read from a benchmark's forward rows: the robust SD of their per-pair log
    ratios (MAD x 1.4826) over sqrt(1.5) (one call against the mean of two); transients and
    load swings as in `Noise`'s defaults."""
    result = json.loads(path.read_text())
    result = result.get("serving", [result])[0] if "serving" in result else result
    devs = []
    for row in result["rows"]:
        if row.get("paired_baseline_ms") and row["engine"] == engine:
            logs = np.log(row["samples_ms"]) - np.log(row["paired_baseline_ms"])
            devs += list(logs - np.median(logs))
    if not devs:
        raise SystemExit(f"{path}: no paired forward rows of {engine}")
    pair_sd = 1.4826 * float(np.median(np.abs(devs)))
    return Noise(call_sd=pair_sd / math.sqrt(1.5))


def table(noise: Noise, pair_counts: list[int], sims: int, seed: int = 0) -> list[str]:
    """Markdown rows: pairs, then the rate at 30% / 20% / 10% overhead at alpha/2 and alpha."""
    rng = np.random.default_rng(seed)
    lines = [
        "| pairs | test | FPR at +30%, α/2 | power +20%, α/2 | power +10%, α/2 | "
        "FPR at +30%, α | power +20%, α |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in pair_counts:
        for name, test in (("signed-rank", supported), ("t on logs", t_supported)):
            cells = [
                rate(rng, over, n, noise, alpha, sims, test=test)
                for alpha in (0.025, 0.05)
                for over in ((0.30, 0.20, 0.10) if alpha == 0.025 else (0.30, 0.20))
            ]
            lines.append(f"| {n} | {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> None:
    """Print the power table under the given (or measured) noise, with and without a transient."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="source", type=Path, help="a serving.json to read noise from")
    ap.add_argument("--sims", type=int, default=1000)
    ap.add_argument("--pairs", default="6,8,10,12,16,20,30")
    ap.add_argument("--transient", type=float, default=0.40)
    ap.add_argument("--call-sd", type=float, help="per-call log noise (default 0.03, or --from)")
    args = ap.parse_args(argv)
    noise = noise_from(args.source) if args.source else Noise()
    if args.call_sd is not None:
        noise = dataclasses.replace(noise, call_sd=args.call_sd)
    counts = [int(x) for x in args.pairs.split(",")]
    for label, n in (("no transient", noise), ("one transient", _with(noise, args.transient))):
        print(
            f"\n{label}: call SD {noise.call_sd:.3f}, round swings SD {noise.swing_sd:.2f}, "
            f"drift step SD {noise.drift_sd:.3f}, transient +{100 * n.transient:.0f}% "
            f"in one call; {args.sims} simulated benchmarks per cell\n"
        )
        print("\n".join(table(n, counts, args.sims)))


def _with(noise: Noise, transient: float) -> Noise:
    """`noise` with one transient of the given size (on the engine's call)."""
    return dataclasses.replace(noise, transient=transient)


if __name__ == "__main__":
    main()
