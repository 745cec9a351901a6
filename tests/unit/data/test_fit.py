"""Fitting inputs to length: fields are cut, the last field and the template's cue survive."""

from __future__ import annotations

from pathlib import Path

import pytest

from loralens.data.fit import fit_example, fit_examples, n_tokens
from loralens.data.spec import Example, Prompt, Source, TaskSpec
from loralens.errors import DataError

CUE = "\nDoes the premise entail the hypothesis? Answer:"


def pair_spec(template: str = "Premise: {premise}\nHypothesis: {hypothesis}" + CUE) -> TaskSpec:
    """A sentence-pair task whose input ends in a prompt's cue."""
    return TaskSpec(
        name="pairs",
        text_fields=["premise", "hypothesis"],
        label_names=["no", "yes"],
        input_template=template,
        source=Source(kind="file", file="x.csv"),
        prompts=[Prompt(template=template, choices=[" yes", " no"])],
    )


@pytest.fixture(scope="module")
def tok(tiny_llama_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_llama_dir)


def words(prefix: str, n: int) -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


def test_a_long_pair_keeps_its_last_field_and_cue(tok) -> None:
    spec = pair_spec()
    long = Example((words("p", 80), "the cat is on the mat"), 1)
    fitted = fit_example(spec, tok, long, 40)
    text = spec.format_input(fitted)
    assert n_tokens(tok, text) <= 40 < n_tokens(tok, spec.format_input(long))
    assert fitted.texts[1] == long.texts[1]  # the hypothesis is whole
    assert text.endswith(CUE)  # the cue is what the last-token classifier reads
    assert long.texts[0].startswith(fitted.texts[0]) and len(fitted.texts[0]) > 0
    # a right-truncating tokenizer would have lost both the hypothesis and the cue
    right = tok.decode(tok(spec.format_input(long), truncation=True, max_length=40)["input_ids"])
    assert "the cat is on the mat" not in right


def test_the_last_field_is_cut_only_when_the_first_is_gone(tok) -> None:
    spec = pair_spec()
    both_long = Example(("short premise here", words("h", 80)), 0)
    fitted = fit_example(spec, tok, both_long, 40)
    assert n_tokens(tok, spec.format_input(fitted)) <= 40
    assert spec.format_input(fitted).endswith(CUE)
    assert both_long.texts[1].startswith(fitted.texts[1]) and fitted.texts[1] != both_long.texts[1]
    one_field = TaskSpec(
        name="one",
        text_fields=["sentence"],
        label_names=["neg", "pos"],
        input_template="Review: {sentence}\nSentiment:",
        source=Source(kind="file", file="x.csv"),
    )
    cut = fit_example(one_field, tok, Example((words("w", 90),), 1), 24)
    assert one_field.format_input(cut).endswith("\nSentiment:")


def test_short_inputs_are_untouched_and_fitting_is_idempotent(tok) -> None:
    spec = pair_spec()
    short = Example(("a cat sat", "a cat"), 1)
    long = Example((words("p", 80), words("h", 5)), 0)
    fitted, counts = fit_examples(spec, tok, [short, long], 40)
    assert fitted[0] is short
    assert (counts.examples, counts.cut, counts.emptied) == (2, 1, 0)
    again, counts_again = fit_examples(spec, tok, fitted, 40)
    assert again == fitted and counts_again.cut == 0


def test_a_template_longer_than_max_length_is_refused(tok) -> None:
    with pytest.raises(DataError, match=r"model\.max_length"):
        fit_example(pair_spec(), tok, Example(("a", "b"), 0), 8)


def test_a_declared_task_name_must_be_one_path_component() -> None:
    with pytest.raises(ValueError, match="not a plain name"):
        TaskSpec(name="../x", text_fields=["s"], label_names=["a", "b"], source=Source(kind="file"))
