"""The `loralens hpo` subcommand: arguments to searches, results to a table or JSON."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `loralens hpo` on the CLI's subparsers."""
    p = sub.add_parser("hpo", help="tune each method on val (Optuna TPE) for the study's runs")
    p.add_argument("items", nargs="*", help="[STUDY.yaml] [key.sub=value ...]")
    p.add_argument("--task", action="append", help="only this task (repeatable)")
    p.add_argument("--method", action="append", help="only this variant (repeatable)")
    p.add_argument("--trials", type=int, help="trials per task and method (hpo.trials)")
    p.add_argument("--storage", help="database URL (default: SQLite in OUT/hpo/optuna.db)")
    p.add_argument("--out", help="the study's folder (default runs/<study name>)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_hpo)


def cmd_hpo(args: argparse.Namespace) -> int:
    """Run the searches; print each one's best values on val."""
    from loralens.cli_args import check_names, config_path, split_config_args
    from loralens.config import load_config
    from loralens.console import print_json, print_table
    from loralens.hpo.run import plan_searches, run_searches
    from loralens.study.cli import safe_folder_name

    name, overrides = split_config_args(args.items)
    if args.trials is not None:
        overrides.append(f"hpo.trials={args.trials}")
    config = load_config(config_path(name, "quickstart"), overrides)
    check_names(config)
    searches = plan_searches(config, args.task, args.method)  # every space checked first
    root = Path(args.out or Path("runs") / safe_folder_name(config.name))
    records = run_searches(config, root, searches, args.storage or config.hpo.storage)
    if args.json:
        print_json(records)
        return 0
    rows = [
        [
            r["task"],
            r["variant"],
            f"{r['trials']['finished']} ({r['trials']['ran_here']} here, "
            f"{r['trials']['pruned']} pruned)",
            f"{r['best_val']:.4f}",
            ", ".join(f"{k}={v:.3g}" for k, v in r["params"].items()),
        ]
        for r in records
    ]
    metric = ", ".join(dict.fromkeys(r["metric"] for r in records))
    headers = ["task", "method", "trials", f"best val {metric}", "tuned values"]
    print_table("hpo (val only)", headers, rows)
    return 0
