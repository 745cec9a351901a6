"""Run a planned study: skip verified artifacts, run the rest (local or Ray), show progress."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from loralens.config import RunConfig, config_to_yaml
from loralens.errors import LoralensError, disk_full, is_disk_full
from loralens.study.plan import plan_study, with_missing
from loralens.study.stages import stage_kind
from loralens.study.store import ArtifactStore
from loralens.study.units import Stage


@dataclass
class Outcome:
    """What happened to each stage in one invocation."""

    done: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)


@contextlib.contextmanager
def stage_log(path: Path) -> Iterator[None]:
    """Send Python-level stdout, stderr and logging of a stage to its log file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Line-buffered: a running stage's log shows its progress, and a kill loses no whole line.
    with (
        path.open("a", buffering=1) as fh,
        contextlib.redirect_stdout(fh),
        contextlib.redirect_stderr(fh),
    ):
        handler = logging.StreamHandler(fh)
        logging.getLogger().addHandler(handler)
        try:
            yield
        finally:
            logging.getLogger().removeHandler(handler)


def execute_stage(root: str, stage: Stage, inputs: dict[str, str]) -> str:
    """Run one stage into its artifact directory (in this process or a worker); return its path.
    A full disk anywhere in it is one line (DiskFullError)."""
    store = ArtifactStore(Path(root))
    try:
        return _execute(store, stage, inputs)
    except Exception as exc:
        if is_disk_full(exc):
            raise disk_full(f"running stage {stage.id}", exc, store.root) from None
        raise


def _execute(store: ArtifactStore, stage: Stage, inputs: dict[str, str]) -> str:
    """Run the stage function into its partial folder, then commit its declared outputs."""
    started = time.time()
    kind = stage_kind(stage.kind)
    out = store.begin(stage, resumable=kind.resumable)
    log = store.log(stage)
    header = attempt_line(stage, attempts_in(log) + 1, started)
    with stage_log(log):
        print(header)
        try:
            kind.run(stage.params, {k: Path(v) for k, v in inputs.items()}, out)
            return str(store.commit(stage, inputs, started, kind.outputs))
        except Exception:
            traceback.print_exc()  # into the stage log; the runner reports one line
            raise


ATTEMPT = "== attempt"  # the first line of each attempt in a stage log


def attempt_line(stage: Stage, attempt: int, started: float) -> str:
    """The separator that opens one attempt of a stage in its log."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
    return f"{ATTEMPT} {attempt}: {stage.id} ({stage.kind}-{stage.key}) started {when} =="


def attempts_in(log: Path) -> int:
    """How many attempts a stage log already holds (0 for no log)."""
    try:
        with log.open("rb") as fh:
            return sum(line.startswith(ATTEMPT.encode()) for line in fh)
    except FileNotFoundError:
        return 0


def write_plan(
    store: ArtifactStore, cfg: RunConfig, stages: list[Stage], degraded: dict[str, dict]
) -> None:
    """The resolved study config and its stage list, for `loralens status` (with how the stages
    in `degraded` were written without some upstream stages); each file replaced whole."""
    store.root.mkdir(parents=True, exist_ok=True)
    _replace_text(store.root / "study.yaml", config_to_yaml(cfg))
    plan = [
        {"id": s.id, "kind": s.kind, "key": s.key, "deps": list(s.deps)}
        | ({"degraded": degraded[s.id]} if s.id in degraded else {})
        for s in stages
    ]
    _replace_text(store.root / "plan.json", json.dumps(plan, indent=2))


def earlier_degraded(plan_path: Path, stages: list[Stage]) -> dict[str, dict]:
    """The degraded records of an earlier plan.json for stages planned with the same key."""
    try:
        earlier = {r["id"]: r for r in json.loads(plan_path.read_text())}
    except (OSError, ValueError, TypeError, KeyError):
        return {}
    return {
        s.id: earlier[s.id]["degraded"]
        for s in stages
        if earlier.get(s.id, {}).get("key") == s.key and "degraded" in earlier[s.id]
    }


def _replace_text(path: Path, text: str) -> None:
    """Write a file through a temporary one, so a reader never sees half of it."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def run_study(
    cfg: RunConfig,
    root: Path,
    submit: Callable[[list[tuple[Stage, dict[str, str]]]], Iterator[tuple[Stage, str | None, str]]],
    on_event: Callable[[str, Stage, int, int], None] = lambda *a: None,
) -> Outcome:
    """Run every stage whose artifact is missing or corrupt, in waves of ready stages."""
    stages = plan_study(cfg)
    store = ArtifactStore(root)
    degraded = earlier_degraded(store.root / "plan.json", stages)  # until this run knows more
    write_plan(store, cfg, stages, degraded)
    outcome, paths = Outcome(), {}

    def notify(event: str, stage: Stage) -> None:
        on_event(event, stage, len(paths), len(stages))

    _take_cached(store, stages, outcome, paths, notify)
    pending = [s for s in stages if s.id not in paths]
    keys = {s.id: s.key for s in stages}
    while pending:
        bad = set(outcome.failed) | set(outcome.blocked)
        for s in [s for s in pending if not s.tolerant and any(d in bad for d in s.deps)]:
            outcome.blocked.append(s.id)
            notify("blocked", s)
        pending = [s for s in pending if s.id not in outcome.blocked]
        ready = [s for s in pending if all(d in paths or d in bad for d in s.deps)]
        if not ready:
            break
        pending = [s for s in pending if s not in ready]
        ready = [_without_missing(s, outcome, keys) for s in ready]
        _take_cached(store, ready, outcome, paths, notify)  # a degraded run done before
        batch = [(s, {d: paths[d] for d in s.deps}) for s in ready if s.id not in paths]
        for s, _ in batch:
            notify("start", s)
        _collect(store, submit(batch), outcome, paths, notify)
        ran = [s for s in ready if "missing" in s.params and s.id in paths]
        if ran:  # `loralens status` tells them from stages done in full
            degraded |= {s.id: {"key": s.key, "missing": s.params["missing"]} for s in ran}
            write_plan(store, cfg, stages, degraded)
    if "analysis" in paths:
        publish(store, Path(paths["analysis"]))
    return outcome


def _take_cached(
    store: ArtifactStore,
    stages: list[Stage],
    outcome: Outcome,
    paths: dict[str, str],
    notify: Callable[[str, Stage], None],
) -> None:
    """Count every stage whose artifact verifies as cached (its path into `paths`)."""
    for s in stages:
        if store.verify(s) is None:
            paths[s.id] = str(store.path(s))
            outcome.cached.append(s.id)
            notify("cached", s)


def _collect(
    store: ArtifactStore,
    results: Iterator[tuple[Stage, str | None, str]],
    outcome: Outcome,
    paths: dict[str, str],
    notify: Callable[[str, Stage], None],
) -> None:
    """Record each finished stage's artifact, or its failure (also on disk, if space allows)."""
    for stage, path, error in results:
        if path is not None:
            paths[stage.id] = path
            outcome.done.append(stage.id)
            notify("done", stage)
        else:
            if not store.record_failure(stage, error):
                error += "; its failure record could not be written either"
            outcome.failed[stage.id] = error
            notify("failed", stage)


def _without_missing(stage: Stage, outcome: Outcome, keys: dict[str, str]) -> Stage:
    """A ready stage as it will run: a tolerant one without the upstream stages that failed."""
    blocked = set(outcome.blocked)
    missing = {
        d: (f"failed: {outcome.failed[d]}" if d in outcome.failed else "blocked by a failed stage")
        for d in stage.deps
        if d in outcome.failed or d in blocked
    }
    return with_missing(stage, missing, keys) if missing else stage


def publish(store: ArtifactStore, analysis_dir: Path) -> None:
    """Copy results.json to the run directory and render the report next to it."""
    tmp = store.root / "results.json.tmp"
    shutil.copyfile(analysis_dir / "results.json", tmp)
    tmp.replace(store.root / "results.json")
    from loralens.report import write_report

    write_report(store.root)


def error_line(exc: BaseException) -> str:
    """One line for a stage failure: the exception type and message."""
    if isinstance(exc, LoralensError):
        return str(exc)
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return last.splitlines()[0]
