"""Every engine reproduces PEFT (one adapter active at a time): logits and generated tokens."""

from __future__ import annotations

import random

import pytest
import torch

from loralens.serving.engines import UnmergedEngine
from loralens.serving.interface import Engine, Sampling
from loralens.serving.registry import ENGINES
from tests.unit.serving._serving_helpers import (
    real_positions,
    reference_logits,
    reference_tokens,
    source,
    varied_batch,
)

ENGINE_NAMES = ["merged", "unmerged", "peft-mixed", "fused"]
ATOL = 1e-4


def _plan(kind: str, names: list[str]) -> list[str | None]:
    """Row -> adapter plans: one adapter (K=1), all base rows, or K=8 plus base rows shuffled."""
    if kind == "k1":
        return [names[0]] * 6
    if kind == "base":
        return [None] * 4
    plan: list[str | None] = [*names, None, None, names[1], names[5]]  # 12 rows
    random.Random(7).shuffle(plan)
    return plan


def _load(model_dir, adapters, options, mode):
    """(source, PEFT reference, every engine) loaded with the eight adapters."""
    src = source(model_dir, mode)
    ref = UnmergedEngine(options)
    ref.load(src, adapters)
    engines: dict[str, Engine] = {n: ENGINES[n](options) for n in ENGINE_NAMES}
    for engine in engines.values():
        engine.load(src, adapters)
    return src, ref, engines


@pytest.fixture(scope="module", params=["classify", "generate"])
def loaded(request, tiny_llama_dir, tiny_adapters, cpu_options):
    """Engines for the classifier (forward) and for the causal LM."""
    return _load(tiny_llama_dir, tiny_adapters, cpu_options, request.param)


@pytest.fixture(scope="module")
def lm(tiny_llama_dir, tiny_adapters, cpu_options):
    """Engines for the causal LM (generation)."""
    return _load(tiny_llama_dir, tiny_adapters, cpu_options, "generate")


def test_adapters_change_the_outputs(loaded, tiny_adapters):
    """Sanity for the equality tests below: each adapter moves the logits away from the base."""
    src, ref, _ = loaded
    batch = varied_batch(src, 3)
    base = real_positions(ref.forward(batch, [None] * 3), batch)
    for spec in tiny_adapters:
        got = real_positions(ref.forward(batch, [spec.name] * 3), batch)
        assert (got - base).abs().max() > 1e-3, spec.name


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@pytest.mark.parametrize("kind", ["k1", "base", "k8_mixed_random"])
def test_logits_match_peft(loaded, tiny_adapters, engine, kind):
    src, ref, engines = loaded
    plan = _plan(kind, [a.name for a in tiny_adapters])
    batch = varied_batch(src, len(plan), seed=len(plan))
    want = real_positions(reference_logits(ref, batch, plan), batch)
    got = real_positions(engines[engine].forward(batch, plan), batch)
    torch.testing.assert_close(got, want, atol=ATOL, rtol=1e-5)


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@pytest.mark.parametrize("kind", ["k1", "k8_mixed_random"])
@pytest.mark.parametrize("greedy", [True, False])
def test_generated_tokens_match_peft(lm, tiny_adapters, engine, kind, greedy):
    """Greedy tokens, and seeded samples (noise per row and step), equal PEFT's."""
    src, ref, engines = lm
    plan = _plan(kind, [a.name for a in tiny_adapters])
    batch = varied_batch(src, len(plan), seed=3)
    sampling = Sampling(greedy=greedy, temperature=0.8, seed=11)
    want = reference_tokens(ref, batch, plan, 5, sampling)
    gen = engines[engine].generate(batch, plan, 5, sampling)
    assert torch.equal(gen.tokens, want)
    assert len(gen.ttft_s) == len(gen.e2e_s) == len(plan)
    assert all(0 < a <= b for a, b in zip(gen.ttft_s, gen.e2e_s, strict=True))


def test_decode_loop_matches_hf_generate(lm, tiny_adapters):
    """The shared KV-cache decode loop gives HF `generate`'s greedy tokens (left padding)."""
    src, ref, _ = lm
    batch = varied_batch(src, 4, seed=5)
    name = tiny_adapters[2].name
    ours = ref.generate(batch, [name] * 4, 6, Sampling()).tokens
    with ref.active(name) as model, torch.inference_mode():
        hf = model.generate(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            max_new_tokens=6,
            min_new_tokens=6,
            do_sample=False,
            pad_token_id=src.tokenizer.pad_token_id,
        )
    assert torch.equal(ours, hf[:, batch.input_ids.shape[1] :])


def test_split_engines_queue_later_groups(lm, tiny_adapters):
    """merged/unmerged serve groups one after another: a later group's first token comes later."""
    src, _, engines = lm
    names = [a.name for a in tiny_adapters]
    plan = [names[0], names[0], names[1], names[1]]
    batch = varied_batch(src, 4)
    for engine in ("merged", "unmerged"):
        gen = engines[engine].generate(batch, plan, 3, Sampling())
        assert gen.ttft_s[2] > gen.e2e_s[0]
    fused = engines["fused"].generate(batch, plan, 3, Sampling())
    assert len(set(fused.ttft_s)) == 1
