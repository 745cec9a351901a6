"""The commands on a study's run folder: `run`, `status`, `verify`, `repro`."""

from __future__ import annotations

import argparse
from pathlib import Path

from loralens.cli_args import check_names, config_path, int_at_least, split_config_args
from loralens.hpo import cli as hpo_cli


def cmd_run(args: argparse.Namespace) -> int:
    """Run a whole study (default: the built-in quickstart) and write its report."""
    from loralens.config import load_config
    from loralens.study.cli import run_command

    name, overrides = split_config_args(args.items)
    config = load_config(config_path(name, "quickstart"), overrides)
    check_names(config)
    return run_command(config, args)


def cmd_status(args: argparse.Namespace) -> int:
    """Show the state of every stage of a study run."""
    from loralens.console import print_json, print_table
    from loralens.study.status import seconds_by_group, study_status

    records = study_status(Path(args.run_dir))
    if args.json:
        print_json(records)
    else:
        rows = [[r["id"], r["state"], _duration(r.get("seconds")), _failure(r)] for r in records]
        print_table(f"study {args.run_dir}", ["stage", "state", "seconds", "error"], rows)
        totals = seconds_by_group(records)
        if totals:
            parts = ", ".join(f"{group} {s:.0f}" for group, s in totals.items())
            print(f"compute seconds by stage group: {parts}; all {sum(totals.values()):.0f}")
    return 1 if any(r["state"] in ("failed", "corrupted") for r in records) else 0


def _duration(seconds: float | None) -> str:
    """A stage's compute time for the status table ('' when not done)."""
    return "" if seconds is None else f"{seconds:.1f}"


def cmd_verify(args: argparse.Namespace) -> int:
    """Recheck every artifact of a study run against its manifest and this environment."""
    from loralens.console import print_json
    from loralens.env import fingerprint
    from loralens.study.verify import verify_run

    checked, found = verify_run(Path(args.run_dir), fingerprint())
    if args.json:
        print_json({"artifacts": checked, "mismatches": [m.__dict__ for m in found]})
    else:
        for m in found:
            print(m.line())
        print(
            f"{checked} artifacts checked: "
            + (f"{len(found)} mismatches" if found else "all match")
        )
    return 1 if found else 0


def cmd_repro(args: argparse.Namespace) -> int:
    """Run a study --repeat times into fresh folders and compare every artifact file."""
    import dataclasses
    import json

    from loralens.console import print_json
    from loralens.study import repro

    out = Path(args.out)
    folders = repro.run_folders(out, args.repeat)
    repro.run_repeats(args.items, folders)
    matches = repro.compare_runs(folders)
    counts = repro.summary(matches)
    record = {
        "runs": [str(f) for f in folders],
        "summary": counts,
        "files": [dataclasses.asdict(m) for m in matches],
    }
    (out / "repro.json").write_text(json.dumps(record, indent=2) + "\n")
    if args.json:
        print_json(record)
    else:
        for m in matches:
            if m.status != repro.IDENTICAL:
                print(f"{m.status}: {m.path}" + (f" — {m.detail}" if m.detail else ""))
        print(", ".join(f"{n} {s}" for s, n in counts.items()) + f" (table: {out}/repro.json)")
    return 1 if repro.failed(matches) else 0


def _failure(record: dict) -> str:
    """A failed stage's error and the log file to read; empty for other states."""
    if "log" not in record:
        return record.get("error", "")
    return f"{record.get('error', '')} (log: {record['log']})"


def add_study_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `run`, `hpo`, `status`, `verify` and `repro` on the CLI's subparsers."""
    p = sub.add_parser("run", help="run a whole study (default: the quickstart) and report")
    p.add_argument("items", nargs="*", help="[STUDY.yaml] [key.sub=value ...]")
    p.add_argument("--out", help="run directory (default runs/<study name>)")
    p.add_argument("--executor", choices=["local", "ray"], help="overrides the config's executor")
    p.add_argument("--workers", type=int_at_least(1), default=1, help="parallel local workers")
    p.add_argument("--address", help="Ray cluster address (default: start a local instance)")
    p.add_argument("--force", action="store_true", help="run even if --out holds another study")
    p.set_defaults(func=cmd_run)

    hpo_cli.add_parser(sub)

    p = sub.add_parser("status", help="state of every stage of a study run")
    p.add_argument("run_dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "verify", help="recheck every artifact of a study run (exit 1 on a mismatch)"
    )
    p.add_argument("run_dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "repro", help="run a study twice or more into fresh folders and compare every file"
    )
    p.add_argument("items", nargs="*", help="[STUDY.yaml] [key.sub=value ...]")
    p.add_argument("--repeat", type=int, default=2, help="how many runs (at least 2)")
    p.add_argument("--out", required=True, help="the runs go to OUT/run-1, OUT/run-2, ...")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_repro)


__all__ = ["add_study_parsers", "cmd_repro", "cmd_run", "cmd_status", "cmd_verify"]
