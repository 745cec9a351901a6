"""Run the serving benchmark on the packaged SmolLM2-135M with 8 synthetic adapters (CPU).

    .venv/bin/python scripts/serve_bench_smollm2.py --out serve_bench.json

Forward (classification) at batch sizes 1-16 and mixed batches of 16 rows; generation with 8
rows; K in {1, 2, 8} adapters per batch, round-robin and random order, greedy and sampling.
Until `loralens bench serve` is wired, this is the way to run it end to end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from loralens.config import ServingConfig
from loralens.serving import format_serve_table, run_serve_bench


def main() -> None:
    """Parse arguments, run the benchmark, print the table and write the JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--adapters", nargs="*", default=[], help="trained adapter or run folders")
    p.add_argument("--engines", nargs="+", default=["merged", "unmerged", "peft-mixed", "fused"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--prompt-length", type=int, default=32)
    p.add_argument("--output-length", type=int, default=8)
    p.add_argument("--threads", type=int, default=1, help="1 avoids oversubscription when shared")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    p.add_argument("--k", type=int, nargs="+", default=[1, 2, 8], help="adapters per batch")
    p.add_argument("--orders", nargs="+", default=["round_robin", "random"])
    p.add_argument(
        "--sampling", choices=["greedy", "sample"], nargs="+", default=["greedy", "sample"]
    )
    p.add_argument("--out", type=Path, default=Path("serve_bench.json"))
    args = p.parse_args()
    serving = ServingConfig(
        batch_sizes=args.batch_sizes,
        num_adapters=args.k,
        orders=args.orders,
        sampling=[mode == "sample" for mode in args.sampling],
        mixed_batch_size=16,
        generation_batch_size=8,
        prompt_length=args.prompt_length,
        output_length=args.output_length,
        repeats=args.repeats,
        warmup=args.warmup,
        threads=args.threads,
        device="cpu",
    )
    start = time.perf_counter()

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    result = run_serve_bench(
        args.model, [Path(a) for a in args.adapters], serving, args.engines, progress=say
    )
    result["settings"]["wall_time_s"] = time.perf_counter() - start
    args.out.write_text(json.dumps(result, indent=2))
    print(format_serve_table(result))
    print(f"\nwall time {result['settings']['wall_time_s']:.0f} s; JSON in {args.out}")


if __name__ == "__main__":
    main()
