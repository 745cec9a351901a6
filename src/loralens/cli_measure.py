"""The `loralens` subcommands that measure training runs: drift, probe, sparsity, bench."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loralens.cli_args import (
    config_path,
    float_at_least,
    int_at_least,
    split_config_args,
    training_run_dirs,
    writable_out,
)
from loralens.errors import LoralensError


def _fixed4(x: float) -> str:
    """x to 4 decimals without a '-0.0000' for a rounding-level negative (1 - CKA at step 0)."""
    return f"{round(x, 4) + 0.0:.4f}"


def cmd_drift(args: argparse.Namespace) -> None:
    """Drift tables (with controls) for one or more training runs."""
    from loralens.console import print_json, print_table
    from loralens.drift.io import run_drift

    run_dirs = training_run_dirs(args.run_dirs, finished=False)
    names = [d.resolve().name for d in run_dirs]
    if args.out and len(set(names)) < len(names):
        clash = next(n for n in names if names.count(n) > 1)
        raise LoralensError(
            f"--out {args.out} would hold the tables of several runs named '{clash}' in one "
            f"folder, {args.out}/{clash}; run them separately or leave --out out (RUN_DIR/drift)"
        )
    outs = [
        Path(args.out) / n if args.out else d / "drift"
        for d, n in zip(run_dirs, names, strict=True)
    ]
    for out in outs:  # every folder checked before any run is computed
        writable_out(out)
    summaries = []
    for run_dir, out in zip(run_dirs, outs, strict=True):
        summaries.append(run_drift(run_dir, out, n_perm=args.permutations) | {"out": str(out)})
    if args.json:
        print_json(summaries)
        return
    for s in summaries:
        rows = [
            [
                r["pooling"],
                r["step"],
                "yes" if r["selected"] else "",
                _fixed4(r["mean_drift"]),
                _fixed4(r["max_drift"]),
                _fixed4(r["mean_drift_biased"]),
                _layer_ranges(r["dominated_layers"]),
            ]
            for r in s["summary"]
        ]
        print_table(
            f"drift of {s['run']} (tables in {s['out']})",
            ["pooling", "step", "selected", "mean drift", "max drift", "mean biased", "dominated"],
            rows,
        )
        defined = [c for c in s["controls"] if "random_init_cka" in c]
        worst = min(c["self_cka"] for c in defined)
        floor = max(c["random_init_cka"] for c in defined)
        print(
            f"drift = 1 - debiased CKA; biased beside it. controls: base vs itself >= "
            f"{worst:.12f}; random init <= {floor:.3f}. 'dominated': layers where one principal "
            "component holds more than half of CKA's weight, λ₁²/Σλ² (the measure then sees little "
            "else)"
        )


def _layer_ranges(layers: list[int]) -> str:
    """'3-9, 12-29' for a sorted list of layers ('-' when empty)."""
    spans: list[list[int]] = []
    for layer in layers:
        if spans and layer == spans[-1][1] + 1:
            spans[-1][1] = layer
        else:
            spans.append([layer, layer])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans) or "-"


def cmd_probe(args: argparse.Namespace) -> None:
    """Capture a base model's or trained run's pooled representations of a task's probe set."""
    from loralens.console import print_json
    from loralens.probing.run import probe_command

    writable_out(Path(args.out), folder=False)
    info = probe_command(
        args.model_or_run,
        args.task,
        Path(args.out),
        Path(args.data_dir) if args.data_dir else None,
        args.max_examples,
        args.max_length,
        sink_tokens=args.sink_tokens,
        sink_ratio=args.sink_ratio,
    )
    if args.json:
        print_json(info)
    else:
        print(
            f"{info['n']} probe examples x {info['layers']} layers x {info['hidden']} -> {args.out}"
        )


def cmd_sparsity(args: argparse.Namespace) -> None:
    """Effective ranks and intruder dimensions of the updates of training runs."""
    from loralens.console import print_json, print_table
    from loralens.sparsity.run import run_sparsity

    results = [run_sparsity(d) for d in training_run_dirs(args.run_dirs)]
    if args.json:
        print_json(results)
        return
    for res in results:
        eps = "0.5"
        rows = [
            [
                r["module"],
                r["shape"],
                f"{r['effective_rank']:.2f}",
                f"{r['stable_rank']:.2f}",
                r["energy_rank_90"],
                r["lora_rank"] or "-",
                r["intruders"].get(eps, ""),
            ]
            for r in res["rows"]
        ]
        print_table(
            f"{res['method']} on {res['task']} (seed {res['seed']}): {res['run']}",
            [
                "module",
                "shape",
                "eff. rank",
                "stable rank",
                "rank@90%",
                "r",
                f"intruders (eps={eps})",
            ],
            rows,
        )


def cmd_bench_cka(args: argparse.Namespace) -> None:
    """Time loralens CKA against a NumPy reference and the published PyTorch CKA packages."""
    from loralens.bench.cka import format_cka_bench, run_cka_bench
    from loralens.console import print_json

    result = run_cka_bench(repeats=args.repeats, threads=args.threads)
    print_json(result) if args.json else print(format_cka_bench(result))


def cmd_bench_train(args: argparse.Namespace) -> None:
    """Full fine-tuning vs LoRA training steps: time, tokens/s, FLOP/s against the GEMM limit."""
    from loralens.bench.train import format_train_bench, run_train_bench
    from loralens.console import print_json

    def progress(msg: str) -> None:  # stderr, so --json output stays clean
        print(f"[bench train] {msg}", file=sys.stderr, flush=True)

    result = run_train_bench(
        args.model,
        args.batch,
        args.length,
        args.repeats,
        args.warmup,
        threads=args.threads,
        progress=progress,
    )
    print_json(result) if args.json else print(format_train_bench(result))


def cmd_bench_serve(args: argparse.Namespace) -> int | None:
    """Merged vs unmerged vs mixed vs fused multi-adapter serving, correctness checked first."""
    from loralens.config import load_config
    from loralens.console import print_json
    from loralens.serving import format_serve_table, run_serve_bench
    from loralens.training.folder import TrainingRun, write_json

    name, overrides = split_config_args(args.items)
    config = load_config(config_path(name, "quickstart"), overrides)
    if args.out:
        writable_out(Path(args.out), folder=False)
    engines = args.engines.split(",") if args.engines else config.serving.engines
    runs = [TrainingRun(Path(d)) for d in args.adapters]
    adapters = [run.adapter_dir if run.has_adapter() else run.root for run in runs]

    def progress(msg: str) -> None:  # stderr, so --json output stays clean
        print(f"[bench serve] {msg}", file=sys.stderr, flush=True)

    result = run_serve_bench(
        config.model.name, adapters, config.serving, engines, progress=progress
    )
    payload = result.model_dump(mode="json")
    if args.out:
        write_json(Path(args.out), payload)
    print_json(payload) if args.json else print(format_serve_table(payload))
    for engine, why in result.failed.items():  # the other engines' results stand
        print(f"loralens: error: engine {engine} {why}", file=sys.stderr)
    return 2 if result.failed else None


def add_measure_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `drift`, `probe` and `sparsity` on the CLI's subparsers."""
    p = sub.add_parser("drift", help="CKA/cosine/Procrustes drift of runs, with controls")
    p.add_argument("run_dirs", nargs="+")
    p.add_argument("--out", help="tables go to OUT/<run folder name> (default RUN_DIR/drift)")
    p.add_argument(
        "--permutations", type=int_at_least(1), default=100, help="row shuffles for the null"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_drift)

    p = sub.add_parser("probe", help="pooled per-layer representations of a task's probe set")
    p.add_argument("model_or_run", help="model name, HF id or folder, or a training run directory")
    p.add_argument("--task", help="task of a base model (a run is probed on its own task)")
    p.add_argument("--data-dir")
    p.add_argument("--out", required=True, help="output .safetensors file")
    p.add_argument("--max-examples", type=int_at_least(5), default=256, help="for base models")
    p.add_argument(
        "--max-length", type=int_at_least(8), default=64, help="for base models (runs use theirs)"
    )
    p.add_argument(
        "--sink-tokens",
        type=int_at_least(0),
        default=1,
        help="leading tokens mean_nosink leaves out",
    )
    p.add_argument(
        "--sink-ratio",
        type=float_at_least(0.0),
        help="mean_nosink also leaves out tokens whose norm at some layer exceeds this multiple "
        "of the input's median token norm (massive activations; 0: off; default: "
        "probing.sink_ratio's)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("sparsity", help="ΔW spectra, effective rank, intruder dimensions")
    p.add_argument("run_dirs", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sparsity)


def add_bench_parser(sub: argparse._SubParsersAction) -> None:
    """Register `bench cka|train|serve` on the CLI's subparsers."""
    bench = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="bench", required=True)
    p = bench.add_parser("cka", help="CKA speed and accuracy against peers")
    p.add_argument("--repeats", type=int_at_least(1), default=5)
    p.add_argument("--threads", type=int_at_least(1), help="torch and BLAS threads during the run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_cka)

    p = bench.add_parser(
        "train", help="training step time, tokens/s and FLOP/s (full vs LoRA) against GEMM FLOP/s"
    )
    p.add_argument("--model", default="smollm2-135m", help="a Llama-style decoder (name or path)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--length", type=int, default=64, help="tokens per example (padded)")
    p.add_argument("--repeats", type=int, default=5, help="timed steps per method")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps before them")
    p.add_argument("--threads", type=int, help="torch and BLAS threads during the run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_train)

    p = bench.add_parser("serve", help="multi-adapter serving benchmark (in-process engines, vLLM)")
    p.add_argument("items", nargs="*", help="[CONFIG] [key.sub=value ...] (serving.* settings)")
    p.add_argument("--engines", help="comma-separated engine names (default: the config's)")
    p.add_argument("--adapters", nargs="*", default=[], help="training run or adapter folders")
    p.add_argument("--out", help="also write the result JSON here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_serve)
