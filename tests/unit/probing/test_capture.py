"""Representation capture: length-sorted batches return each text's rows in the given order."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from loralens.probing.capture import LENGTHS, capture
from loralens.probing.pooling import POOLINGS, PoolingError


def _model(tiny_llama_dir: Path):
    from transformers import AutoModel, AutoTokenizer

    return AutoModel.from_pretrained(tiny_llama_dir), AutoTokenizer.from_pretrained(tiny_llama_dir)


def test_batched_capture_equals_one_text_at_a_time(
    tiny_llama_dir: Path, mixed_length_texts: list[str]
) -> None:
    model, tok = _model(tiny_llama_dir)
    # Some texts are one token long here, so no sink token can be left out of their mean.
    batched = capture(model, tok, mixed_length_texts, 32, batch_size=2, sink_tokens=0)
    alone = [capture(model, tok, [t], 32, sink_tokens=0) for t in mixed_length_texts]
    layers = {f"{p}.layer_{i}" for p in POOLINGS for i in range(3)}
    assert set(batched) == layers | {LENGTHS}
    assert batched[LENGTHS].tolist() == [len(tok(t)["input_ids"]) for t in mixed_length_texts]
    for key in layers:
        assert batched[key].shape == (len(mixed_length_texts), 64)
        assert torch.allclose(batched[key], torch.cat([a[key] for a in alone]), atol=1e-5), key


def test_sink_count_is_checked_against_the_probe_set(
    tiny_llama_dir: Path, mixed_length_texts: list[str]
) -> None:
    model, tok = _model(tiny_llama_dir)
    with pytest.raises(PoolingError, match="sink_tokens=1 leaves no token"):
        capture(model, tok, mixed_length_texts, 32, sink_tokens=1)
    long = [t for t in mixed_length_texts if len(tok(t)["input_ids"]) > 3]
    reps = capture(model, tok, long, 32, sink_tokens=1)
    # Leaving the first token out changes the mean (it is no longer the plain mean).
    assert not torch.allclose(reps["mean_nosink.layer_2"], reps["mean.layer_2"])


def test_snapshot_bytes_do_not_depend_on_the_metadata_order(tmp_path):
    import torch
    from safetensors.torch import save_file

    from loralens.probing.capture import read_metadata, save_snapshot

    reps = {"mean.layer_0": torch.arange(6.0).reshape(2, 3)}
    save_snapshot(reps, tmp_path / "a.safetensors", {"step": "3", "info": "{}"})
    save_snapshot(reps, tmp_path / "b.safetensors", {"info": "{}", "step": "3"})
    a, b = ((tmp_path / n).read_bytes() for n in ("a.safetensors", "b.safetensors"))
    assert a == b
    assert read_metadata(tmp_path / "a.safetensors") == {"step": "3", "info": "{}"}
    # A snapshot of the earlier layout (one metadata entry per field) still reads.
    save_file(reps, str(tmp_path / "old.safetensors"), metadata={"step": "5", "info": "{}"})
    assert read_metadata(tmp_path / "old.safetensors") == {"step": "5", "info": "{}"}
