"""The `loralens` command: parses arguments, loads config, calls one function per subcommand."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from loralens import __version__
from loralens.cli_args import (
    BUILTIN_CONFIGS,
    check_names,
    config_path,
    int_at_least,
    parse_command_line,
    split_config_args,
    writable_out,
)
from loralens.cli_examples import add_examples
from loralens.cli_measure import add_bench_parser, add_measure_parsers
from loralens.cli_study import add_study_parsers
from loralens.errors import ConfigError, LoralensError, disk_full, is_disk_full

DESCRIPTION = (
    "LoRA against full fine-tuning: representation drift, multi-adapter serving cost and the "
    "rank an update uses. `loralens run` runs the quickstart study; see README.md and docs/."
)


def cmd_tasks(args: argparse.Namespace) -> None:
    """List registered tasks."""
    from loralens.console import print_json, print_table
    from loralens.data import builtin_tasks

    tasks = builtin_tasks()
    if args.json:
        print_json({n: t.model_dump(mode="json") for n, t in tasks.items()})
        return
    rows = [
        [
            t.name,
            t.kind,
            "+".join(t.text_fields),
            "/".join(t.label_names),
            ",".join(t.metrics),
            t.source.kind,
        ]
        for t in tasks.values()
    ]
    print_table("tasks", ["name", "kind", "fields", "labels", "metrics", "source"], rows)


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
    from loralens.kinds import get_kind

    data = load_task(args.task, Path(args.data_dir) if args.data_dir else None)
    data = _read_through_prompt(data, args.prompt)
    count, tok = None, None
    if args.model != "none":
        from loralens.models.load import load_tokenizer

        tok = load_tokenizer(args.model)
        count = lambda texts: [len(ids) for ids in tok(texts)["input_ids"]]  # noqa: E731
    stats = task_stats(data, count)  # lengths before any cut
    stats["tokenizer"] = args.model
    if args.max_length is not None:
        if tok is None or not get_kind(data.spec.kind).labelled:
            raise ConfigError("--max-length counts cut classification inputs: give a --model")
        from loralens.data.run_task import fitted

        stats["cut"] = fitted(data, tok, args.max_length).cut
        stats["max_length"] = args.max_length
    print_json(stats) if args.json else print_task_stats(stats)


def _read_through_prompt(data, prompt: int | None):
    """The task with its inputs read through its prompt `prompt` (as a prompt head reads them)."""
    if prompt is None:
        return data
    from loralens.data.run_task import read_through

    prompts = data.spec.prompts
    if not 0 <= prompt < len(prompts):
        raise ConfigError(
            f"--prompt {prompt}: task {data.spec.name} declares {len(prompts)} prompt(s)"
            + (f"; allowed: 0..{len(prompts) - 1}" if prompts else "")
        )
    return dataclasses.replace(data, spec=read_through(data.spec, prompts[prompt]))


def cmd_doctor(args: argparse.Namespace) -> int:
    """Print the environment fingerprint and how the environment differs from the lock."""
    from loralens.console import print_json, print_table
    from loralens.env import fingerprint
    from loralens.lockfile import LOCK_DIR, lock_differences

    fp = fingerprint()
    folder = Path(args.lock) if args.lock else LOCK_DIR
    count, found = lock_differences(folder)
    if args.json:
        differences = [d.__dict__ for d in found]
        print_json(
            {**fp, "lock": {"folder": str(folder), "pins": count, "differences": differences}}
        )
    else:
        rows = [[k, v] for k, v in fp.items() if k != "packages"]
        rows += [[f"package {k}", v] for k, v in fp["packages"].items()]
        print_table("environment", ["what", "value"], rows)
        for d in found:
            print(d.line())
        print(
            f"{len(found)} difference{'s' * (len(found) != 1)} from the lock ({folder})"
            if found
            else f"environment matches the lock ({count} pins, {folder})"
        )
    return 1 if found and args.strict else 0


def cmd_config(args: argparse.Namespace) -> None:
    """Validate a config and print it resolved."""
    from loralens.config import config_to_yaml, load_config

    if args.list:
        for path in sorted(BUILTIN_CONFIGS.glob("*.yaml")):
            first = path.read_text().splitlines()[0].lstrip("# ").strip().rstrip(":")
            print(f"{path.stem}\t{first}\t{path}")
        return
    name, overrides = split_config_args(args.items)
    # The same default as train, run, sanity and bench serve: what they would use is shown.
    config = load_config(config_path(name, "quickstart"), overrides)
    check_names(config)
    sys.stdout.write(config_to_yaml(config))


def cmd_train(args: argparse.Namespace) -> None:
    """One training run; prints its test metrics."""
    from loralens.config import load_config
    from loralens.console import print_json, print_table
    from loralens.training.folder import TrainingRun
    from loralens.training.run import train_run

    name, overrides = split_config_args(args.items)
    config = load_config(config_path(name, "quickstart"), overrides)
    writable_out(Path(args.out))
    finished = TrainingRun(Path(args.out)).finished()
    metrics = train_run(config, Path(args.out)).to_dict()  # refuses another config's run
    if finished:
        print(
            f"{args.out} already holds this finished run: its metrics, not retrained "
            "(delete the folder to train again)",
            file=sys.stderr,
        )
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


def cmd_report(args: argparse.Namespace) -> None:
    """Write report.html, report.md, tables.tex and figures from RUN_DIR/results.json."""
    from loralens.report import write_report

    for name, path in write_report(Path(args.run_dir)).items():
        print(f"{name}: {path}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="loralens", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"loralens {__version__}")
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
    p.add_argument(
        "--prompt", type=int, help="read inputs through the task's prompt K (as a prompt head)"
    )
    p.add_argument(
        "--max-length",
        type=int_at_least(8),
        help="count the examples of each split cut to this many tokens (model.max_length)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_data_stats)

    p = sub.add_parser("doctor", help="environment fingerprint and differences from the lock")
    p.add_argument("--lock", help="folder of lock files (default: the one loralens ships)")
    p.add_argument("--strict", action="store_true", help="exit 1 if the environment differs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser(
        "train", help="one training run (full, lora, dora, adalora or qlora) on one task"
    )
    p.add_argument("items", nargs="*", help="[CONFIG] [key.sub=value ...]")
    p.add_argument("--out", required=True, help="run directory (resumed if it holds a run)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sanity", help="pass/fail training sanity checks (full and LoRA)")
    p.add_argument("items", nargs="*", help="[key.sub=value ...] applied to the quickstart config")
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--task", default="rotten_tomatoes")
    p.add_argument("--data-dir")
    p.add_argument(
        "--steps", type=int_at_least(1), default=60, help="most steps for the overfitting check"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sanity)

    add_study_parsers(sub)
    add_measure_parsers(sub)

    p = sub.add_parser("report", help="render RUN_DIR/results.json as HTML, Markdown, LaTeX")
    p.add_argument("run_dir")
    p.set_defaults(func=cmd_report)

    add_bench_parser(sub)

    p = sub.add_parser("config", help="validate a config and print it resolved")
    p.add_argument("items", nargs="*", help="[CONFIG (default: quickstart)] [key.sub=value ...]")
    p.add_argument("--list", action="store_true", help="list the built-in configs and their paths")
    p.set_defaults(func=cmd_config)
    add_examples(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run one subcommand; user errors print one line and exit 2."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # bitsandbytes (imported by PEFT) warns on every command that an optional hub kernel package
    # is absent; its native fallback is what loralens uses and measures, so this is noise.
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    args = parse_command_line(build_parser(), argv)
    func: Callable[[argparse.Namespace], int | None] = args.func
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        return func(args) or 0
    except LoralensError as exc:
        print(f"loralens: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        folder = Path(getattr(args, "out", None) or Path.cwd())
        error = disk_full(f"running loralens {args.command}", exc, folder)
        print(f"loralens: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
