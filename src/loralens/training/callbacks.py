"""Trainer callbacks: representation snapshots, and a Trainer that stops on a non-finite loss."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import safe_open
from transformers import Trainer, TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from loralens.errors import LoralensError
from loralens.probing.capture import capture, save_snapshot
from loralens.probing.pooling import DEFAULT_SINK_RATIO
from loralens.probing.probe_set import ProbeSet
from loralens.training.adalora import (
    is_adalora,
    trainable_adapter_config,
    use_checkpoint_rank_pattern,
)

if TYPE_CHECKING:
    from loralens.config import RunConfig


class NonFiniteLossError(LoralensError):
    """Training produced a NaN or infinite loss."""


class GuardedTrainer(Trainer):
    """A Trainer whose every training step checks the loss before the optimizer sees it."""

    def training_step(self, model, inputs, num_items_in_batch=None):
        """Run one step; raise naming the step if the loss is NaN or infinite."""
        loss = super().training_step(model, inputs, num_items_in_batch)
        if not torch.isfinite(loss.detach()).all():
            step = self.state.global_step + 1
            kept = keep_good_checkpoints(Path(self.args.output_dir))
            where = (
                f"the last good checkpoint ({kept.name}: finite weights and evaluation) is kept "
                f"in {kept.parent}"
                if kept is not None
                else "no checkpoint has finite weights and evaluation, so none is kept"
            )
            raise NonFiniteLossError(f"loss became {loss.item()} at step {step}; {where}")
        return loss

    def _load_best_model(self) -> None:
        """Load the checkpoint selected on val; an AdaLoRA model first takes its rank pattern."""
        if is_adalora(self.model):
            use_checkpoint_rank_pattern(self.model, self.state.best_model_checkpoint)
        super()._load_best_model()


def checkpoint_problem(folder: Path) -> str | None:
    """Why a Trainer checkpoint is no good to resume from (non-finite evaluation or weights)."""
    state = json.loads((folder / "trainer_state.json").read_text())
    evals = [h["eval_loss"] for h in state.get("log_history", []) if "eval_loss" in h]
    if evals and not math.isfinite(evals[-1]):
        return f"its last evaluation loss is {evals[-1]}"
    for weights in sorted(folder.glob("*.safetensors")):
        with safe_open(str(weights), framework="pt") as fh:
            for name in fh.keys():  # noqa: SIM118 (safe_open is not a mapping)
                tensor = fh.get_tensor(name)
                if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                    return f"{weights.name}: {name} is not finite"
    return None


def keep_good_checkpoints(folder: Path) -> Path | None:
    """Delete checkpoints newer than the last good one (a resume would start from them).

    Returns the newest good checkpoint, or None (then every checkpoint is deleted).
    """
    complete = [p for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    for ckpt in sorted(complete, key=lambda p: int(p.name.split("-")[1]), reverse=True):
        problem = checkpoint_problem(ckpt)
        if problem is None:
            return ckpt
        print(f"removing {ckpt.name}: {problem}", file=sys.stderr)
        shutil.rmtree(ckpt)
    return None


class SnapshotCallback(TrainerCallback):
    """Capture the probe set's pooled representations at step 0, every N steps, and at the end."""

    def __init__(
        self,
        probe: ProbeSet,
        tokenizer,
        folder: Path,
        every: int,
        max_length: int,
        batch_size: int,
        sink_tokens: int = 1,
        step0: Path | None = None,
        sink_ratio: float = DEFAULT_SINK_RATIO,
    ) -> None:
        self.probe, self.tokenizer, self.folder = probe, tokenizer, folder
        self.every, self.max_length, self.batch_size = every, max_length, batch_size
        self.sink_tokens, self.sink_ratio = sink_tokens, sink_ratio
        self.step0 = step0  # the base's snapshot, when the step-0 model is the base bit for bit

    @classmethod
    def of_run(
        cls, cfg: RunConfig, probe: ProbeSet, tokenizer, folder: Path, step0: Path | None = None
    ) -> SnapshotCallback:
        """The snapshots a run of `cfg` takes: its interval, max length and capture settings."""
        p = cfg.probing
        return cls(
            probe, tokenizer, folder, p.snapshot_every, cfg.model.max_length, p.batch_size,
            p.sink_tokens, step0, p.sink_ratio,
        )  # fmt: skip

    def step_path(self, step: int) -> Path:
        """Where the snapshot of `step` is written."""
        return self.folder / f"step_{step:06d}.safetensors"

    def snapshot(self, model, step: int, path: Path | None = None) -> Path:
        """Capture and save one snapshot (skipped if already written, e.g. before a resume)."""
        path = path or self.step_path(step)
        if not path.exists():
            texts, tok = self.probe.texts, self.tokenizer
            reps = capture(
                model, tok, texts, self.max_length, self.batch_size, self.sink_tokens,
                self.sink_ratio,
            )  # fmt: skip
            info = {
                "probe_sha256": self.probe.sha256,
                "n": len(texts),
                "sink_tokens": self.sink_tokens,
                "sink_ratio": self.sink_ratio,
            }
            save_snapshot(reps, path, {"step": str(step), "info": json.dumps(info)})
        return path

    def select(self, model, step: int, path: Path, copy: bool = True) -> Path:
        """The snapshot of the model selected on val, written to `path`: a copy of the snapshot
        taken at its step when there is one and `copy` (the same weights give the same bytes, so
        its probe set is not run through the model twice), else captured now."""
        taken = self.step_path(step)
        if path.exists() or not copy or not taken.exists():
            return self.snapshot(model, step, path)
        return copy_snapshot(taken, path)

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw
    ) -> None:
        """Step-0 snapshot: the model before any update (a copy of the base's when given)."""
        if state.global_step != 0:
            return
        path = self.step_path(0)
        if self.step0 is not None and not path.exists():
            copy_snapshot(self.step0, path)
        self.snapshot(kw["model"], 0, path)  # a no-op once the file exists

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw
    ) -> None:
        """Periodic snapshots and one at the last step."""
        step = state.global_step
        if (self.every and step % self.every == 0) or step == state.max_steps:
            self.snapshot(kw["model"], step)


def copy_snapshot(source: Path, path: Path) -> Path:
    """Copy a snapshot file to `path` atomically (a partial copy is never seen at `path`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, path)
    return path


class StderrLogCallback(TrainerCallback):
    """One compact line per Trainer log on stderr (stdout stays clean for --json)."""

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw
    ) -> None:
        """Print step, loss and eval metrics."""
        logs = {k: v for k, v in (kw.get("logs") or {}).items() if k != "total_flos"}
        parts = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in logs.items()]
        print(f"[step {state.global_step}/{state.max_steps}] " + " ".join(parts), file=sys.stderr)


class AdaLoraAllocationCallback(TrainerCallback):
    """AdaLoRA's budget step: `update_and_allocate` after every optimizer step, gradients intact."""

    def __init__(self) -> None:
        self.steps: list[int] = []  # the step numbers passed to update_and_allocate, in order

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw
    ) -> None:
        """Check that the schedule AdaLoRA was built with spans the Trainer's steps."""
        total = trainable_adapter_config(kw["model"]).total_step
        if total != state.max_steps:
            raise LoralensError(
                f"AdaLoRA was built for {total} optimizer steps but the Trainer will take "
                f"{state.max_steps}; its rank budget schedule would not end with the run"
            )

    def on_optimizer_step(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw
    ) -> None:
        """Update importance scores from this step's gradients and mask to the current budget."""
        # transformers 5.23 calls this after optimizer.step() and before model.zero_grad(), the
        # place PEFT documents; the allocator's sensitivity |p · grad| needs the gradients. Steps
        # are numbered from 1 like state.global_step after the step, so with tfinal = 0 the last
        # step is the one that fixes the final budget (PEFT: global_step == total_step - tfinal).
        step = state.global_step + 1
        kw["model"].base_model.update_and_allocate(step)
        self.steps.append(step)
