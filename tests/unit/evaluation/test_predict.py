"""Batched prediction: length-sorted batches give each row the logits it gets alone, in order."""

from __future__ import annotations

from pathlib import Path

import torch

from loralens.evaluation.predict import predict_logits


def test_batched_logits_equal_one_row_at_a_time(
    tiny_llama_dir: Path, mixed_length_texts: list[str]
) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_llama_dir, num_labels=3)
    model.config.pad_token_id = tok.pad_token_id
    enc = tok(mixed_length_texts, truncation=True, max_length=32)
    rows = [{"input_ids": ids, "attention_mask": m} for ids, m in zip(*enc.values(), strict=True)]
    batched = predict_logits(model, rows, tok.pad_token_id, batch_size=3)  # (N, 3)
    alone = torch.cat([predict_logits(model, [r], tok.pad_token_id) for r in rows])
    assert batched.shape == (len(mixed_length_texts), 3)
    assert torch.allclose(batched, alone, atol=1e-5)
    assert not torch.allclose(batched[0], batched[1])  # rows are not interchangeable


def _pair_spec(template: str | None):
    from loralens.data.spec import Prompt, Source, TaskSpec

    return TaskSpec(
        name="pairs",
        text_fields=["premise", "hypothesis"],
        label_names=["no", "yes"],
        input_template=template,
        source=Source(kind="file", file="x.csv"),
        prompts=[
            Prompt(template="P: {premise}\nH: {hypothesis}\nFollows?", choices=[" no", " yes"])
        ],
    )


def test_field_spans_locate_each_field_in_the_input() -> None:
    from loralens.data.spec import Example

    e = Example(("one two", "three"), 1)
    for template in (None, "Premise: {premise} || Hypothesis: {hypothesis}."):
        spec = _pair_spec(template)
        text = spec.format_input(e)
        assert [text[a:b] for a, b in spec.field_spans(e)] == list(e.texts)


def test_every_model_sees_the_same_input_content(tiny_llama_dir: Path) -> None:
    """A zero-shot prompt wraps exactly the text a fine-tuned model's truncated input holds."""
    from transformers import AutoTokenizer

    from loralens.data.spec import Example
    from loralens.evaluation.predict import as_seen, encode

    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    spec = _pair_spec("Premise: {premise} Hypothesis: {hypothesis}")
    short = Example(("a cat sat", "a cat"), 1)
    long = Example(("a cat sat on the mat", " ".join(f"w{i}" for i in range(60))), 0)
    first_cut = Example((" ".join(f"v{i}" for i in range(60)), "never seen"), 0)
    max_length = 24
    seen = as_seen(spec, tok, [short, long, first_cut], max_length)
    assert seen[0] is short  # within max_length: untouched
    kept = [
        tok.decode(encode(spec, tok, [e], max_length)[0]["input_ids"], skip_special_tokens=True)
        for e in (long, first_cut)
    ]
    # The cut lies in the second field: the input as seen is the fine-tuned model's text.
    assert spec.format_input(seen[1]).strip() == kept[0].strip()
    assert seen[1].texts[0] == long.texts[0] and long.texts[1].startswith(seen[1].texts[1])
    assert 0 < len(seen[1].texts[1]) < len(long.texts[1])
    # The first field alone fills the input: the second is not seen at all.
    assert kept[1].strip() == f"Premise: {seen[2].texts[0]}".strip()
    assert first_cut.texts[0].startswith(seen[2].texts[0]) and seen[2].texts[1] == ""
    prompt = spec.format_prompt(spec.prompts[0], seen[1])
    assert "w59" not in prompt and prompt.endswith("Follows?")
