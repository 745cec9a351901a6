"""The fused engine against PEFT on the real SmolLM2-135M (slow: loads real weights)."""

from __future__ import annotations

import pytest
import torch

from loralens.serving.adapters import read_adapter
from loralens.serving.base import BaseSource
from loralens.serving.engines import UnmergedEngine
from loralens.serving.fused import FusedEngine
from loralens.serving.interface import EngineOptions, Sampling
from loralens.serving.synthetic import make_synthetic_adapters
from loralens.serving.workloads import make_batch
from tests.unit.serving._serving_helpers import real_positions, reference_logits, reference_tokens

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["classify", "generate"])
def test_fused_equals_peft_on_smollm2(tmp_path_factory, mode):
    out = tmp_path_factory.mktemp(f"smollm2-adapters-{mode}")
    adapters = [
        read_adapter(p) for p in make_synthetic_adapters("smollm2-135m", out, 2, ranks=[8, 4])
    ]
    options = EngineOptions(device=torch.device("cpu"))
    src = BaseSource("smollm2-135m", mode, torch.device("cpu"))
    ref, fused = UnmergedEngine(options), FusedEngine(options)
    ref.load(src, adapters)
    fused.load(src, adapters)
    plan = [adapters[1].name, None, adapters[0].name, adapters[1].name]  # batch 4, mixed
    side = "right" if mode == "classify" else "left"
    batch = make_batch(src.tokenizer, [16, 9, 12, 16], side, seed=0)
    want = real_positions(reference_logits(ref, batch, plan), batch)
    got = real_positions(fused.forward(batch, plan), batch)
    # fp32 over 30 layers: LM logits reach ~30, so allow 1e-4 relative on top of 1e-4 absolute
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    if mode == "generate":
        want_tokens = reference_tokens(ref, batch, plan, 3, Sampling())
        assert torch.equal(fused.generate(batch, plan, 3, Sampling()).tokens, want_tokens)
