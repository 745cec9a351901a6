"""Forgetting probes: a copy of the base forgets nothing, a perturbed backbone is measured."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from loralens.data import load_task
from loralens.errors import ConfigError
from loralens.forgetting.measure import task_score, text_score, transplant
from loralens.models.load import load_tokenizer


@pytest.fixture(scope="module")
def text():
    return load_task("guardian_headlines")


def _lm(folder):
    return AutoModelForCausalLM.from_pretrained(folder)


def test_the_base_backbone_under_the_base_head_forgets_nothing(tiny_llama_dir, text):
    tok = load_tokenizer("smollm2-135m")
    base = text_score(_lm(tiny_llama_dir), tok, text, 32, 6)
    classifier = AutoModelForSequenceClassification.from_pretrained(tiny_llama_dir, num_labels=2)
    same = text_score(transplant(_lm(tiny_llama_dir), classifier), tok, text, 32, 6)
    assert same["nll"] == pytest.approx(base["nll"], abs=1e-6)
    assert same["windows_scored"] == base["windows_scored"] == 6 and base["stride"] == 16


def test_the_text_is_read_across_all_its_documents(tiny_llama_dir, text):
    tok = load_tokenizer("smollm2-135m")
    out = text_score(_lm(tiny_llama_dir), tok, text, 32, 6)
    # 6 headlines spread over all 612, not the first few of the test set
    assert out["documents"] == len(text.splits.test) and out["documents_scored"] == 6
    assert max(out["document_ids"]) > len(text.splits.test) * 5 // 6
    assert sum(out["document_tokens"]) == out["tokens"]


def test_a_perturbed_backbone_is_measured_as_forgetting(tiny_llama_dir, text):
    tok = load_tokenizer("smollm2-135m")
    base = text_score(_lm(tiny_llama_dir), tok, text, 32, 6)
    classifier = AutoModelForSequenceClassification.from_pretrained(tiny_llama_dir, num_labels=2)
    torch.manual_seed(0)
    with torch.no_grad():  # planted: noise on every attention/MLP weight, not on the head
        for p in classifier.model.layers.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    moved = text_score(transplant(_lm(tiny_llama_dir), classifier), tok, text, 32, 6)
    assert moved["nll"] > base["nll"] + 0.01


def test_a_backbone_of_another_shape_is_one_clear_error(tiny_llama_dir):
    from transformers import LlamaConfig, LlamaForSequenceClassification

    cfg = LlamaConfig(
        num_hidden_layers=1,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=2,
        num_key_value_heads=1,
        vocab_size=100,
    )
    with pytest.raises(ConfigError, match="does not fit the base causal LM"):
        transplant(_lm(tiny_llama_dir), LlamaForSequenceClassification(cfg))


def test_zero_shot_probe_scores_the_given_template(tiny_llama_dir):
    tok = load_tokenizer("smollm2-135m")
    data = load_task("rotten_tomatoes", max_val=10, max_test=12)
    out = task_score(_lm(tiny_llama_dir), tok, data, 0, 32, 8)
    assert out["examples"] == 12 and len(out["correct"]) == 12
    assert out["accuracy"] == pytest.approx(sum(out["correct"]) / 12)
