"""The `loralens` command: parses arguments, loads config, calls one function per subcommand."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from loralens.errors import LoralensError

BUILTIN_CONFIGS = Path(__file__).parent / "configs"


def config_path(arg: str | None, default: str | None = None) -> Path | None:
    """A config argument as a path: a file, or the name of a built-in config (quickstart, ...)."""
    name = arg or default
    if name is None:
        return None
    path = Path(name)
    if path.is_file() or name.endswith((".yaml", ".yml")):
        return path
    builtin = BUILTIN_CONFIGS / f"{name}.yaml"
    return builtin if builtin.is_file() else path


def split_config_args(items: list[str]) -> tuple[str | None, list[str]]:
    """Split positional args into an optional config file/name and key=value overrides."""
    if items and "=" not in items[0]:
        return items[0], items[1:]
    return None, items


def cmd_tasks(args: argparse.Namespace) -> None:
    """List registered tasks."""
    from loralens.console import print_json, print_table
    from loralens.data import builtin_tasks

    tasks = builtin_tasks()
    if args.json:
        print_json({n: t.model_dump(mode="json") for n, t in tasks.items()})
        return
    rows = [
        [t.name, "+".join(t.text_fields), "/".join(t.label_names), ",".join(t.metrics), kind]
        for t in tasks.values()
        for kind in [t.source.kind]
    ]
    print_table("tasks", ["name", "fields", "labels", "metrics", "source"], rows)


def cmd_models(args: argparse.Namespace) -> None:
    """List registered models."""
    from loralens.console import print_json, print_table
    from loralens.models.registry import REGISTRY

    entries = [
        {"name": s.name, "kind": s.kind, "source": s.source, "caveat": s.caveat}
        for s in REGISTRY.values()
    ]
    if args.json:
        print_json(entries)
        return
    rows = [[e["name"], e["kind"], e["source"], e["caveat"]] for e in entries]
    rows.append(["<hub id or path>", "either", "any Hugging Face model id or local folder", ""])
    print_table("models", ["name", "kind", "source", "caveat"], rows)


def cmd_data_stats(args: argparse.Namespace) -> None:
    """Split sizes, labels, token lengths, duplicates and example rows of one task."""
    from loralens.console import print_json, print_task_stats
    from loralens.data import load_task
    from loralens.data.stats import task_stats

    data = load_task(args.task, Path(args.data_dir) if args.data_dir else None)
    count = None
    if args.model != "none":
        from loralens.models.load import load_tokenizer

        tok = load_tokenizer(args.model)
        count = lambda texts: [len(ids) for ids in tok(texts)["input_ids"]]  # noqa: E731
    stats = task_stats(data, count)
    stats["tokenizer"] = args.model
    print_json(stats) if args.json else print_task_stats(stats)


def cmd_doctor(args: argparse.Namespace) -> None:
    """Print the environment fingerprint."""
    from loralens.console import print_json, print_table
    from loralens.env import fingerprint

    fp = fingerprint()
    if args.json:
        print_json(fp)
        return
    rows = [[k, v] for k, v in fp.items() if k != "packages"]
    rows += [[f"package {k}", v] for k, v in fp["packages"].items()]
    print_table("environment", ["what", "value"], rows)


def cmd_config(args: argparse.Namespace) -> None:
    """Validate a config and print it resolved."""
    from loralens.config import config_to_yaml, load_config

    name, overrides = split_config_args(args.items)
    config = load_config(config_path(name), overrides)
    sys.stdout.write(config_to_yaml(config))


def cmd_train(args: argparse.Namespace) -> None:
    """One training run; prints its test metrics."""
    from loralens.config import load_config
    from loralens.console import print_json, print_table
    from loralens.training.run import train_run

    name, overrides = split_config_args(args.items)
    config = load_config(config_path(name, "quickstart"), overrides)
    metrics = train_run(config, Path(args.out))
    if args.json:
        print_json(metrics)
        return
    rows = [[k, f"{v:.4f}"] for k, v in metrics["test"].items()]
    rows += [["trainable share", f"{metrics['trainable_share']:.4%}"]]
    rows += [
        ["selected step", metrics["selected_step"]],
        ["wall time (s)", f"{metrics['wall_time_s']:.1f}"],
    ]
    print_table(f"{metrics['method']} on {metrics['task']} (test, once)", ["metric", "value"], rows)


def cmd_sanity(args: argparse.Namespace) -> int:
    """Pass/fail table of training sanity checks; non-zero exit on any failure."""
    from loralens.config import load_config
    from loralens.console import print_json, print_table
    from loralens.training.sanity import run_sanity

    overrides = [f"model.name={args.model}", f"task.name={args.task}", *args.items]
    if args.data_dir:
        overrides.append(f"task.data_dir={args.data_dir}")
    checks = run_sanity(load_config(config_path("quickstart"), overrides), steps=args.steps)
    if args.json:
        print_json([c.__dict__ for c in checks])
    else:
        rows = [[c.method, c.name, "PASS" if c.passed else "FAIL", c.detail] for c in checks]
        print_table("sanity checks", ["method", "check", "result", "detail"], rows)
    return 0 if all(c.passed for c in checks) else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="loralens", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("tasks", help="list registered tasks")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("models", help="list registered models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    data_parser = sub.add_parser("data", help="dataset commands")
    data = data_parser.add_subparsers(dest="data_cmd", required=True)
    p = data.add_parser("stats", help="split sizes, labels, token lengths, duplicates, examples")
    p.add_argument("task", help="task name (see `loralens tasks`) or a task YAML file")
    p.add_argument("--data-dir", help="local data folder (GLUE TSV layout for mrpc/sst2/rte)")
    p.add_argument("--model", default="smollm2-135m", help="tokenizer for lengths ('none': skip)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_data_stats)

    p = sub.add_parser("doctor", help="environment fingerprint")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("train", help="one training run (full or LoRA) on one task")
    p.add_argument("items", nargs="*", help="[CONFIG] [key.sub=value ...]")
    p.add_argument("--out", required=True, help="run directory (resumed if it holds a run)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sanity", help="pass/fail training sanity checks (full and LoRA)")
    p.add_argument("items", nargs="*", help="[key.sub=value ...] applied to the quickstart config")
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--task", default="rotten_tomatoes")
    p.add_argument("--data-dir")
    p.add_argument("--steps", type=int, default=60, help="most steps for the overfitting check")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sanity)

    p = sub.add_parser("config", help="validate a config and print it resolved")
    p.add_argument("items", nargs="*", help="[CONFIG] [key.sub=value ...]")
    p.set_defaults(func=cmd_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run one subcommand; user errors print one line and exit 2."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int | None] = args.func
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        return func(args) or 0
    except LoralensError as exc:
        print(f"loralens: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
