"""The study's base snapshot: copied as a run's step-0 snapshot only when it is that snapshot's
bytes, and then byte for byte what the run would have captured itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loralens.config import load_config
from loralens.training import callbacks
from loralens.training.base_snapshot import (
    INPUTS,
    SNAPSHOT,
    shared_step0,
    snapshot_inputs,
    write_base_snapshot,
)
from loralens.training.run import train_run

TINY = [
    "task.max_train=16",
    "task.max_val=8",
    "task.max_test=8",
    "training.batch_size=8",
    "training.max_steps=2",
    "training.eval_steps=2",
    "probing.max_examples=8",
    "probing.batch_size=4",
    "device=cpu",
]
STEP0 = "snapshots/step_000000.safetensors"


def _cfg(tiny: Path, *overrides: str):
    return load_config(None, [f"model.name={tiny}", *TINY, *overrides])


@pytest.fixture(scope="module")
def base(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("control")
    write_base_snapshot(_cfg(tiny_llama_dir), out)
    return out


@pytest.mark.parametrize(
    ("task", "method"),
    [
        ("rotten_tomatoes", "full"),
        ("rotten_tomatoes", "lora"),
        ("rotten_tomatoes", "adalora"),
        ("convention_speeches", "lora"),  # a language-modelling task: a causal LM's snapshot
    ],
)
def test_a_run_that_starts_at_the_base_copies_exactly_its_own_capture(
    tiny_llama_dir: Path, tmp_path: Path, task: str, method: str, monkeypatch
) -> None:
    cfg = _cfg(tiny_llama_dir, f"method={method}", f"task.name={task}")
    base = tmp_path / "control"
    write_base_snapshot(cfg, base)
    own = tmp_path / "own"
    train_run(cfg, own)  # captures its step-0 snapshot itself
    captures = []
    real = callbacks.capture
    monkeypatch.setattr(callbacks, "capture", lambda *a, **k: captures.append(1) or real(*a, **k))
    shared = tmp_path / "shared"
    train_run(cfg, shared, base=base)
    step0 = (shared / STEP0).read_bytes()
    assert step0 == (own / STEP0).read_bytes() == (base / SNAPSHOT).read_bytes()
    # steps 0 and 2, the selected copied from its step (AdaLoRA's captured from its pruned
    # reload): only what the run's own model computed went through it
    assert len(captures) == (2 if method == "adalora" else 1)


def test_a_method_that_does_not_start_at_the_base_captures(tiny_llama_dir: Path, base) -> None:
    recorded = json.loads((base / INPUTS).read_text())
    cfg = _cfg(tiny_llama_dir, "method=lora")
    sha = recorded["probe_sha256"]
    assert shared_step0(cfg, sha, "cpu", base) == base / SNAPSHOT
    for method in ("dora", "qlora"):  # a rescaled or a 4-bit base: captured
        assert shared_step0(cfg.model_copy(update={"method": method}), sha, "cpu", base) is None
    assert shared_step0(cfg, sha, "cpu", None) is None


@pytest.mark.parametrize(
    "change",
    [
        ["probing.batch_size=8"],  # other batches, other padding
        ["probing.sink_tokens=0"],
        ["model.max_length=16"],
        ["model.quantization=nf4"],
    ],
)
def test_a_run_whose_capture_would_differ_captures(tiny_llama_dir, base, change) -> None:
    sha = json.loads((base / INPUTS).read_text())["probe_sha256"]
    cfg = _cfg(tiny_llama_dir, "method=lora", *change)
    assert shared_step0(cfg, sha, "cpu", base) is None
    same = _cfg(tiny_llama_dir, "method=lora")
    assert shared_step0(same, "0" * 64, "cpu", base) is None  # another probe set
    assert shared_step0(same, sha, "cuda", base) is None  # another device


def test_the_recorded_inputs_name_threads_and_torch(tiny_llama_dir: Path, base: Path) -> None:
    import torch

    recorded = json.loads((base / INPUTS).read_text())
    assert recorded == snapshot_inputs(_cfg(tiny_llama_dir), recorded["probe_sha256"], "cpu")
    assert recorded["threads"] == torch.get_num_threads()
    assert recorded["torch"] == torch.__version__
