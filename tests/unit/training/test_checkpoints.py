"""After a non-finite loss, only checkpoints with finite weights and evaluation are kept."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from safetensors.torch import save_file

from loralens.training.callbacks import checkpoint_problem, keep_good_checkpoints


def _checkpoint(root: Path, step: int, weight: float, eval_loss: float) -> Path:
    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    save_file(
        {"w": torch.full((2, 2), weight), "steps": torch.tensor([step])}, folder / "m.safetensors"
    )
    history = [{"loss": 0.7, "step": step}, {"eval_loss": eval_loss, "step": step}]
    (folder / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    return folder


def test_a_checkpoint_is_good_only_with_finite_weights_and_evaluation(tmp_path: Path) -> None:
    assert checkpoint_problem(_checkpoint(tmp_path, 1, 0.5, 0.69)) is None
    assert "evaluation loss is nan" in checkpoint_problem(_checkpoint(tmp_path, 2, 0.5, math.nan))
    assert "m.safetensors: w is not finite" in checkpoint_problem(
        _checkpoint(tmp_path, 3, math.inf, 0.69)
    )


def test_newer_bad_checkpoints_go_and_the_last_good_one_stays(tmp_path: Path) -> None:
    good = _checkpoint(tmp_path, 2, 0.5, 0.69)
    _checkpoint(tmp_path, 1, 0.4, 0.70)  # older and good: kept too
    _checkpoint(tmp_path, 3, math.nan, math.nan)
    _checkpoint(tmp_path, 4, 0.5, math.nan)
    assert keep_good_checkpoints(tmp_path) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-1", "checkpoint-2"]


def test_no_good_checkpoint_leaves_none_to_resume_from(tmp_path: Path) -> None:
    _checkpoint(tmp_path, 1, math.nan, 0.7)
    assert keep_good_checkpoints(tmp_path) is None
    assert not list(tmp_path.iterdir())
