"""Representation capture: length-sorted batches return each text's rows in the given order."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from loralens.probing.capture import LENGTHS, SINKS, capture
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
    assert set(batched) == layers | {LENGTHS, SINKS}
    assert batched[SINKS].tolist() == [0] * len(mixed_length_texts)  # a random model: none
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


def test_a_planted_second_token_sink_is_left_out_and_counted(tiny_llama_dir: Path) -> None:
    # A massive activation planted on token 1 of the last layer's states (the final norm's
    # output: no other token sees it). mean_nosink then equals leaving out the first two tokens
    # of the unplanted model at every layer, and the snapshot counts two sinks per input.
    model, tok = _model(tiny_llama_dir)
    texts = ["a b c d e f g h", "one two three four five six seven"]

    def spike(module, args, output):
        output[:, 1, 0] += 1e4
        return output

    plain = capture(model, tok, texts, 32, sink_tokens=1)
    assert plain[SINKS].tolist() == [1, 1]  # the random model has no massive activation
    two = capture(model, tok, texts, 32, sink_tokens=2, sink_ratio=0.0)
    handle = model.norm.register_forward_hook(spike)
    try:
        planted = capture(model, tok, texts, 32, sink_tokens=1)
    finally:
        handle.remove()
    assert planted[SINKS].tolist() == [2, 2]
    last = len(model.layers)
    for i in range(last + 1):
        key = f"mean_nosink.layer_{i}"
        assert torch.allclose(planted[key], two[key], atol=1e-6), key
        assert torch.equal(planted[f"mean.layer_{i}"], plain[f"mean.layer_{i}"]) == (i < last)


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
