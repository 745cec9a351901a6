"""The selected model's snapshot: a copy of the one taken at its step, else captured anew."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from loralens.models.load import load_classifier
from loralens.probing.probe_set import ProbeSet
from loralens.training.callbacks import SnapshotCallback

TEXTS = ["a fine film", "dull and far too long", "the actors carry it", "nothing new here at all"]


@pytest.fixture
def model_tok(tiny_llama_dir: Path):
    torch.manual_seed(0)
    return load_classifier(str(tiny_llama_dir), 2, dtype=torch.float32)


def _callback(tok, folder: Path) -> SnapshotCallback:
    probe = ProbeSet(task="t", texts=TEXTS, sha256="x" * 64)
    return SnapshotCallback(probe, tok, folder, every=2, max_length=16, batch_size=2)


def _same(a: Path, b: Path) -> bool:
    x, y = load_file(str(a)), load_file(str(b))
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def test_selected_snapshot_copies_the_step_snapshot(model_tok, tmp_path: Path) -> None:
    model, tok = model_tok
    cb = _callback(tok, tmp_path)
    taken = cb.snapshot(model, 4)
    with torch.no_grad():  # the model has moved on since step 4: a copy must not capture it
        for p in model.parameters():
            p.add_(0.5)
    selected = cb.select(model, 4, tmp_path / "selected.safetensors")
    assert selected.read_bytes() == taken.read_bytes()


def test_selected_snapshot_without_a_step_snapshot_is_captured(model_tok, tmp_path: Path) -> None:
    model, tok = model_tok
    cb = _callback(tok, tmp_path)
    cb.snapshot(model, 4)
    selected = cb.select(model, 5, tmp_path / "selected.safetensors")  # no step-5 snapshot
    assert not (tmp_path / "step_000005.safetensors").exists()
    fresh = cb.snapshot(model, 5)
    assert _same(selected, fresh)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    assert not _same(cb.select(model, 7, tmp_path / "other.safetensors"), fresh)


def test_a_model_that_reloads_otherwise_is_captured_not_copied(model_tok, tmp_path: Path) -> None:
    model, tok = model_tok
    cb = _callback(tok, tmp_path)
    taken = cb.snapshot(model, 4)
    with torch.no_grad():  # the reloaded model differs from the one snapshotted at its step
        for p in model.parameters():
            p.add_(0.5)
    selected = cb.select(model, 4, tmp_path / "selected.safetensors", copy=False)
    assert not _same(selected, taken)
    assert _same(selected, cb.snapshot(model, 4, tmp_path / "fresh.safetensors"))
