"""`loralens run`: the study runner with a live progress display and a one-line verdict."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from loralens.config import RunConfig
from loralens.errors import LoralensError, disk_full, is_disk_full
from loralens.hpo.tuned import use_tuned
from loralens.study.executors import LocalExecutor, RayExecutor
from loralens.study.plan import study_tasks
from loralens.study.preflight import check_study_data
from loralens.study.runner import Outcome, run_study
from loralens.study.store import ArtifactStore, run_lock
from loralens.study.units import Stage


def make_executor(cfg: RunConfig, root: Path, args: argparse.Namespace):
    """The executor named by --executor or the config."""
    kind = args.executor or cfg.executor
    if kind == "ray":
        return RayExecutor(root, address=args.address)
    return LocalExecutor(root, workers=args.workers)


def safe_folder_name(name: str) -> str:
    """A study name as one folder name: no separators, no leading dots (never '..')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).lstrip(".-") or "study"


def check_same_study(root: Path, name: str) -> None:
    """Refuse a run folder that holds another study (its study.yaml names another study)."""
    path = root / "study.yaml"
    if not path.is_file():
        return
    try:
        held = (yaml.safe_load(path.read_text()) or {}).get("name")
    except (yaml.YAMLError, AttributeError):
        held = None
    if held != name:
        raise LoralensError(
            f"{root} holds the study '{held}', not '{name}'; give another --out, or --force to "
            "run this study there (its stages are keyed by content, so the other's stay intact)"
        )


def check_writable(root: Path) -> None:
    """Raise a clear error unless the run directory can be created and written."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-test-{os.getpid()}"  # per process: two runs may probe at once
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise LoralensError(
            f"cannot write to the output directory {root}: {exc.strerror}"
        ) from None


def run_command(cfg: RunConfig, args: argparse.Namespace) -> int:
    """Run the study with progress on stderr; exit 1 naming failed stages."""
    root = Path(args.out or Path("runs") / safe_folder_name(cfg.name))
    cfg = use_tuned(cfg, root, [t.name for t in study_tasks(cfg)])  # hpo.use: the searches' values
    check_study_data(cfg)  # bad data refused before the folder, lock, plan or logs exist
    check_writable(root)
    console = Console(stderr=True)
    store = ArtifactStore(root)
    start = time.perf_counter()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} stages"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with run_lock(root), Progress(*columns, console=console, transient=False) as progress:
        if not getattr(args, "force", False):
            check_same_study(root, cfg.name)  # under the lock: no other run is writing it
        bar = progress.add_task("planning", total=None)

        def on_event(event: str, stage: Stage, done: int, total: int) -> None:
            progress.update(
                bar, total=total, completed=done, description=f"{event}: {stage.id}"[:70]
            )
            if event in ("done", "failed", "blocked"):
                clock = time.strftime("%H:%M:%S")
                console.print(f"[dim]{clock}[/dim] {event:7s} {stage.id}", highlight=False)

        executor = make_executor(cfg, root, args)
        try:
            outcome = run_study(cfg, root, executor, on_event)
        except Exception as exc:
            if is_disk_full(exc):
                raise disk_full(f"running study {cfg.name}", exc, root) from None
            raise
    elapsed = time.perf_counter() - start
    if outcome.failed or outcome.blocked:
        print(failure_line(cfg.name, outcome, store), file=sys.stderr)
        return 1
    print(
        f"study {cfg.name}: {len(outcome.done)} stages run, {len(outcome.cached)} cached, "
        f"{elapsed:.1f} s; report: {root / 'report.html'}"
    )
    return 0


def failure_line(name: str, outcome: Outcome, store: ArtifactStore) -> str:
    """One line: how many stages failed or were blocked, the first with its log, the report."""
    if outcome.failed:
        sid, why = next(iter(outcome.failed.items()))
    else:
        sid, why = outcome.blocked[0], "blocked by a failed stage"
    log = store.logs / (sid.replace("/", "__") + ".log")
    report = store.root / "report.html"
    published = "analysis" in outcome.done or "analysis" in outcome.cached
    tail = f"; report without them: {report}" if published else ""
    return (
        f"loralens: study {name}: {len(outcome.failed)} stage(s) failed, "
        f"{len(outcome.blocked)} blocked; first: {sid}: {why} (log: {log}); "
        f"rerun to retry only these{tail}"
    )


__all__ = ["run_command"]
