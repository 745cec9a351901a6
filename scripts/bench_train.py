"""Training step time and tokens/s of full fine-tuning vs LoRA (a benchmark, not a test).

    .venv/bin/python scripts/bench_train.py [--model smollm2-135m] [--batch 16] [--length 64]

Times forward + backward + clipping + AdamW step after warm-up, median and MAD over repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from loralens.config import load_config
from loralens.data import load_task
from loralens.evaluation.predict import pad_batch
from loralens.training.setup import build_model


def time_steps(method: str, args: argparse.Namespace) -> dict:
    """Median step time and tokens/s for one method."""
    cfg = load_config(None, [f"model.name={args.model}", f"method={method}"])
    model, tok = build_model(cfg, 2)
    model.train()
    data = load_task("rotten_tomatoes").splits.train[: args.batch]
    texts = [" ".join(e.texts) for e in data]
    enc = tok(texts, truncation=True, max_length=args.length, padding="max_length")
    rows = [{"input_ids": i} for i in enc["input_ids"]]
    batch = pad_batch(rows, tok.pad_token_id)
    labels = torch.tensor([e.label for e in data])
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5)
    times = []
    for i in range(args.warmup + args.repeats):
        start = time.perf_counter()
        loss = model(**batch, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    med = statistics.median(times)
    mad = statistics.median(abs(t - med) for t in times)
    tokens = args.batch * args.length
    return {
        "method": method,
        "step_s": med,
        "mad_s": mad,
        "tokens_per_s": tokens / med,
        "trainable": sum(p.numel() for p in params),
    }


def main() -> None:
    """Run both methods and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = [time_steps(m, args) for m in ("full", "lora")]
    print(
        json.dumps(
            {
                "threads": torch.get_num_threads(),
                "batch": args.batch,
                "length": args.length,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
