"""Planted drift on a tiny random Llama: a change to one layer shows from that layer on and not
before; and with an attention-sink-like massive activation on the first token, the default
pooling still sees a change elsewhere while the plain mean does not."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from loralens.drift.tables import control_rows, drift_rows
from loralens.probing.capture import capture

WORDS = [
    "the",
    "a",
    "film",
    "plot",
    "actor",
    "scene",
    "dull",
    "warm",
    "funny",
    "long",
    "slow",
    "story",
    "music",
    "ending",
    "cast",
]
TEXTS = [
    " ".join(WORDS[(7 * k + 3 * i * i) % len(WORDS)] for i in range(3 + k % 17)) for k in range(48)
]


def _model(tiny_llama_dir: Path):
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModel.from_pretrained(tiny_llama_dir).eval()
    return model, AutoTokenizer.from_pretrained(tiny_llama_dir)


def _perturb(module: torch.nn.Module, scale: float, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.ndim == 2:
                p.add_(scale * p.abs().mean() * torch.randn(p.shape, generator=g))


def _drift(rows: list[dict], pooling: str) -> dict[int, float]:
    return {r["layer"]: r["drift"] for r in rows if r["pooling"] == pooling and "drift" in r}


def test_a_change_to_one_layer_drifts_from_that_layer_on(tiny_llama_dir: Path) -> None:
    model, tok = _model(tiny_llama_dir)
    base = capture(model, tok, TEXTS, 64)
    _perturb(model.layers[1], 20.0, seed=1)  # hidden_states[2] is layer 1's output
    after = capture(model, tok, TEXTS, 64)
    rows = drift_rows(base, [(10, False, after)], n_perm=0)
    for pooling in ("mean_nosink", "mean", "last"):
        drift = _drift(rows, pooling)
        assert max(abs(drift[0]), abs(drift[1])) < 1e-9, (pooling, drift)
        assert drift[2] > 0.02, (pooling, drift)


@pytest.fixture
def sink_model(tiny_llama_dir: Path):
    """The tiny model with a massive activation on the first token's coordinate 5 from layer 0."""
    model, tok = _model(tiny_llama_dir)

    def spike(module, args, output):
        hidden = output[0] if isinstance(output, tuple) else output
        hidden[:, 0, 5] += 3000.0  # like SmolLM2's sink: one coordinate, first token only
        return output

    model.layers[0].register_forward_hook(spike)
    return model, tok


def test_the_default_pooling_sees_past_an_attention_sink(sink_model) -> None:
    model, tok = sink_model
    base = capture(model, tok, TEXTS, 64)
    controls = {(c["pooling"], c["layer"]): c for c in control_rows(base, base)}
    # The sink is what the plain mean sees: one coordinate ~ 1/length holds the variance.
    assert controls[("mean", 1)]["top_pc_share"] > 0.9
    assert controls[("mean", 1)]["top_coord"] == 5 and controls[("mean", 1)]["length_corr"] > 0.9
    assert controls[("mean_nosink", 1)]["top_pc_share"] < 0.5
    _perturb(model.layers[0], 20.0, seed=1)  # content changes; the sink stays
    after = capture(model, tok, TEXTS, 64)
    rows = drift_rows(base, [(10, False, after)], n_perm=0)
    nosink, mean = _drift(rows, "mean_nosink"), _drift(rows, "mean")
    # Layer 1 holds the sink (layer 2 is after the final RMSNorm, which rescales it away).
    assert nosink[1] > 0.02
    assert mean[1] < nosink[1] / 10  # the plain mean barely moves: it measures the sink
