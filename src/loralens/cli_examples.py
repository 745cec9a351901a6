"""One or more examples under each command's `--help`, and in the generated CLI reference."""

from __future__ import annotations

import argparse

# Keyed by the command's words after `loralens`; tests/unit/test_cli_examples.py parses each.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "tasks": ("loralens tasks",),
    "models": ("loralens models",),
    "data stats": (
        "loralens data stats rotten_tomatoes",
        "loralens data stats my-task/reviews.yaml --model none",
    ),
    "doctor": ("loralens doctor --strict",),
    "train": (
        "loralens train quickstart method=full training.learning_rate=5e-5 --out runs/qs-full",
    ),
    "sanity": ("loralens sanity --model smollm2-135m --task rotten_tomatoes",),
    "run": (
        "loralens run",
        "loralens run quickstart 'study.tasks=[my-task/reviews.yaml]' --out runs/reviews",
        "loralens run paper --executor ray --address HOST:6379",
    ),
    "hpo": ("loralens hpo quickstart --method lora-r8 --trials 4 --out runs/quickstart",),
    "status": ("loralens status runs/quickstart",),
    "verify": ("loralens verify runs/quickstart",),
    "repro": ("loralens repro quickstart --repeat 2 --out runs/repro",),
    "drift": ("loralens drift runs/qs-full",),
    "probe": ("loralens probe smollm2-135m --task rotten_tomatoes --out base.safetensors",),
    "sparsity": ("loralens sparsity runs/qs-full",),
    "report": ("loralens report runs/quickstart",),
    "bench cka": ("loralens bench cka --threads 1",),
    "bench train": ("loralens bench train --threads 1",),
    "bench serve": (
        "loralens bench serve --engines merged,fused serving.num_adapters=[1,2,8] --out serve.json",
    ),
    "config": ("loralens config quickstart training.learning_rate=1e-4", "loralens config --list"),
}


def add_examples(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """Put each command's examples under its `--help` (an epilog, printed as written)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for name, sub in action.choices.items():
            words = f"{prefix} {name}".strip()
            if words in EXAMPLES:
                sub.epilog = "examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES[words])
                sub.formatter_class = argparse.RawDescriptionHelpFormatter
            add_examples(sub, words)
