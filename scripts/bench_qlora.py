"""Memory and step time of QLoRA (NF4 base) vs fp32 LoRA (a benchmark, not a test).

    .venv/bin/python scripts/bench_qlora.py [--model smollm2-135m] [--batch 16] [--length 64]
        [--methods lora qlora lora qlora] [--threads 1]

Each method runs in its own fresh process, one after the other, so that its peak RSS is its own.
Times forward + backward + clipping + AdamW step after warm-up, median and MAD over repeats.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import resource
import statistics
import subprocess
import sys
import time

import psutil
import torch


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _rss_split_mb() -> dict[str, float]:
    """Resident memory split into anonymous (heap, tensors) and file-backed (mmapped weights)."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024  # kB -> MB
    return {"anon_mb": fields.get("RssAnon", 0.0), "file_mb": fields.get("RssFile", 0.0)}


def _trimmed_rss_mb() -> float:
    """RSS after returning freed heap to the OS (glibc), i.e. what the process still holds."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _rss_mb()


def _weight_mb(model: torch.nn.Module) -> float:
    """Bytes held by parameters and buffers as stored (4-bit weights packed two per byte)."""
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors) / 2**20


def _time_steps(
    model: torch.nn.Module,
    params: list[torch.Tensor],
    batch: dict[str, torch.Tensor],
    labels: torch.Tensor,
    args: argparse.Namespace,
) -> tuple[list[float], list[float]]:
    """Seconds per timed training step (after warm-up) and the loss of every step."""
    opt = torch.optim.AdamW(params, lr=1e-4)
    model.train()
    times, losses = [], []
    for i in range(args.warmup + args.repeats):
        start = time.perf_counter()
        loss = model(**batch, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
        losses.append(round(loss.item(), 4))
    return times, losses


def worker(method: str, args: argparse.Namespace) -> dict:
    """Build one method's model, time training steps, report memory; runs in a child process."""
    from loralens.config import load_config
    from loralens.data import load_task
    from loralens.evaluation.predict import pad_batch
    from loralens.training.setup import build_model

    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    rss_start = _rss_mb()
    cfg = load_config(None, [f"model.name={args.model}", f"method={method}", "lora.dropout=0"])
    model, tok = build_model(cfg, 2)
    rss_loaded = _rss_mb()
    rss_loaded_trimmed = _trimmed_rss_mb()
    split_loaded = _rss_split_mb()
    data = load_task("rotten_tomatoes").splits.train[: args.batch]
    enc = tok([" ".join(e.texts) for e in data], truncation=True, max_length=args.length)
    enc = tok.pad(enc, padding="max_length", max_length=args.length)
    batch = pad_batch([{"input_ids": i} for i in enc["input_ids"]], tok.pad_token_id)
    labels = torch.tensor([e.label for e in data])
    params = [p for p in model.parameters() if p.requires_grad]
    times, losses = _time_steps(model, params, batch, labels, args)
    med = statistics.median(times)
    return {
        "method": method,
        "step_s": med,
        "mad_s": statistics.median(abs(t - med) for t in times),
        "tokens_per_s": args.batch * args.length / med,
        "weights_mb": _weight_mb(model),
        "rss_after_imports_mb": rss_start,
        "rss_after_load_mb": rss_loaded,
        "rss_after_load_trimmed_mb": rss_loaded_trimmed,
        "rss_after_load_split": split_loaded,
        "rss_after_steps_mb": _rss_mb(),
        "rss_after_steps_split": _rss_split_mb(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "trainable": sum(p.numel() for p in params),
        "losses": losses,
    }


def main() -> None:
    """Run each method in a child process and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--methods", nargs="+", default=["lora", "qlora"], help="run in order")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return
    results = []
    for method in args.methods:
        cmd = [sys.executable, __file__, *sys.argv[1:], "--worker", method]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"{method} failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    summary = {
        "model": args.model,
        "threads": args.threads or torch.get_num_threads(),
        "batch": args.batch,
        "length": args.length,
        "repeats": args.repeats,
        "results": results,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
