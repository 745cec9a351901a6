"""A prompt head: step 0 is the zero-shot decision of the prompt it reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from loralens.errors import ConfigError
from loralens.models.heads import head_module, init_prompt_head, verbalizer

WORDS = [" negative", " positive"]


def _classifier(folder: Path):
    from loralens.models.load import load_classifier

    return load_classifier(str(folder), num_labels=len(WORDS))


def _lm_logits(folder: Path, tok, text: str, ids: list[int]) -> torch.Tensor:
    from transformers import AutoModelForCausalLM

    lm = AutoModelForCausalLM.from_pretrained(folder).eval()
    with torch.no_grad():
        out = lm(**tok(text, return_tensors="pt")).logits[0, -1]  # (V,)
    return out[ids]


@pytest.mark.parametrize("tied", [True, False])
def test_the_head_scores_the_label_words_as_the_lm_does(
    tied: bool, tiny_llama_dir: Path, tmp_path: Path
) -> None:
    folder = tiny_llama_dir
    if not tied:  # an untied LM head is read from the checkpoint's causal LM
        from transformers import AutoModelForCausalLM

        lm = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
        lm.config.tie_word_embeddings = False
        lm.lm_head.weight = torch.nn.Parameter(torch.randn_like(lm.lm_head.weight))
        lm.save_pretrained(tmp_path)
        lm.generation_config.save_pretrained(tmp_path)
        from transformers import AutoTokenizer

        AutoTokenizer.from_pretrained(tiny_llama_dir).save_pretrained(tmp_path)
        folder = tmp_path
    model, tok = _classifier(folder)
    before = head_module(model).weight.clone()
    verbal = init_prompt_head(model, folder, tok, WORDS)
    ids = [v["token_id"] for v in verbal]
    assert not torch.equal(before, head_module(model).weight)  # the fresh rows were replaced
    text = "Review: a gorgeous, witty film\nSentiment:"
    with torch.no_grad():
        logits = model.eval()(**tok(text, return_tensors="pt")).logits[0]  # (C,)
    assert torch.allclose(logits, _lm_logits(folder, tok, text, ids), atol=1e-4)


def test_the_verbalizer_records_tokens_and_refuses_words_it_cannot_tell_apart(
    tiny_llama_dir: Path,
) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    verbal = verbalizer(tok, [" True", " entailment"])
    assert [v["tokens"] for v in verbal] == [
        1,
        len(tok(" entailment", add_special_tokens=False)["input_ids"]),
    ]
    with pytest.raises(ConfigError, match="same token"):
        verbalizer(tok, [" entailment", " entail"])


def test_step_zero_predictions_are_the_zero_shot_baselines(tiny_llama_dir: Path) -> None:
    """Planted: through the run's own data, model and scoring paths, a prompt-head classifier
    at step 0 predicts, example for example, what the zero-shot baseline predicts."""
    from loralens.baselines.zero_shot import choice_logprobs, zero_shot_predictions
    from loralens.config import load_config
    from loralens.data.run_task import load_run_task
    from loralens.evaluation.predict import encode, predict_logits
    from loralens.models.load import load_causal_lm
    from loralens.training.setup import build_model

    cfg = load_config(
        None,
        [f"model.name={tiny_llama_dir}", "model.max_length=24", "task.max_test=48", "method=full"],
    )
    data = load_run_task(cfg)
    assert data.prompt is not None and data.spec.input_template == data.prompt.template
    assert data.cut["test"]["cut"] > 0  # some inputs were cut: the cue must still be read
    model, tok = build_model(cfg, 2, label_words=data.prompt.choices)
    rows = encode(data.spec, tok, data.splits.test, cfg.model.max_length)
    step0 = predict_logits(model, rows, tok.pad_token_id)  # (N, 2)
    lm, _ = load_causal_lm(cfg.model.name)
    zero_shot = zero_shot_predictions(
        lm, tok, data.spec, data.prompt, data.splits.test, cfg.model.max_length
    )
    assert torch.equal(step0.argmax(-1), zero_shot)
    # not only the decisions: the margins are the zero-shot log-likelihood margins
    prompts = [data.spec.format_prompt(data.prompt, e) for e in data.splits.test]
    logp = choice_logprobs(lm, tok, prompts, data.prompt.choices, batch_size=16)  # (N, 2)
    margin = step0[:, 1] - step0[:, 0]
    assert torch.allclose(margin, logp[:, 1] - logp[:, 0], atol=1e-4)
    assert margin.std() > 0  # examples differ: the match is not a constant
    fresh = build_model(
        cfg.model_copy(update={"model": cfg.model.model_copy(update={"head": "fresh"})}), 2
    )[0]
    assert not torch.equal(head_module(fresh).weight, head_module(model).weight)
