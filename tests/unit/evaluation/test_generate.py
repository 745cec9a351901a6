"""Generative QA pieces: prompt+target rows, left truncation, the collator, greedy decoding."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from loralens.errors import DataError
from loralens.evaluation.generate import (
    IGNORE_INDEX,
    PromptTargetCollator,
    continuation_text,
    encode_prompt_target,
    greedy_generate,
    prompt_ids,
    qa_prompt,
    qa_target,
)

PROMPTS = [
    qa_prompt("The Broncos won Super Bowl 50 in Santa Clara.", "Who won?"),
    qa_prompt("Paris.", "Capital?"),
    qa_prompt("A long context " * 6, "Where is it, and why is it there at all?"),
    qa_prompt("x", "y"),
    qa_prompt("Denver beat Carolina 24 to 10.", "What was the score?"),
]


@pytest.fixture(scope="module")
def tok(tiny_llama_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_llama_dir)


@pytest.fixture(scope="module")
def model(tok):
    """A tiny random Llama with a wide init, so greedy outputs depend on the prompt."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        num_hidden_layers=2,
        hidden_size=64,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tok),
        max_position_embeddings=256,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
        initializer_range=0.2,
    )
    return LlamaForCausalLM(config)


class CharTokenizer:
    """A stand-in tokenizer with a BOS: one id per character, BOS = 1 in front of every text."""

    eos_token_id = 2

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return {"input_ids": [1] * add_special_tokens + [ord(c) for c in text]}


def test_qa_prompt_and_target() -> None:
    assert qa_prompt("Ctx.", "Q?") == "Context: Ctx.\nQuestion: Q?\nAnswer:"
    assert qa_target(["Denver Broncos", "Broncos"]) == " Denver Broncos"
    assert qa_target([]) == " unanswerable"


def test_rows_are_prompt_then_target_then_eos(tok) -> None:
    rows = encode_prompt_target(tok, PROMPTS[:2], [" Broncos", " unanswerable"], max_length=64)
    for row, prompt, target in zip(rows, PROMPTS, [" Broncos", " unanswerable"], strict=False):
        p = tok(prompt)["input_ids"]
        t = [*tok(target, add_special_tokens=False)["input_ids"], tok.eos_token_id]
        assert row["input_ids"] == p + t
        assert row["labels"] == [IGNORE_INDEX] * len(p) + t  # loss on target and eos only
        assert row["attention_mask"] == [1] * (len(p) + len(t))
    assert tok.decode([i for i in rows[0]["labels"] if i != IGNORE_INDEX]) == " Broncos<|im_end|>"


def test_long_prompt_loses_its_start_never_the_question_or_target(tok) -> None:
    prompt = qa_prompt("filler words " * 40, "Who won?")
    whole = tok(prompt)["input_ids"]
    target = [*tok(" Denver", add_special_tokens=False)["input_ids"], tok.eos_token_id]
    (row,) = encode_prompt_target(tok, [prompt], [" Denver"], max_length=24)
    assert len(whole) + len(target) > 24
    assert len(row["input_ids"]) == 24
    kept = 24 - len(target)
    assert row["input_ids"] == whole[-kept:] + target
    assert tok.decode(row["input_ids"][:kept]).endswith("\nQuestion: Who won?\nAnswer:")
    assert row["labels"][kept:] == target


def test_truncation_keeps_leading_special_tokens() -> None:
    tok = CharTokenizer()
    assert prompt_ids(tok, "abcdef", None) == [1, *map(ord, "abcdef")]
    assert prompt_ids(tok, "abcdef", 4) == [1, *map(ord, "def")]
    (row,) = encode_prompt_target(tok, ["abcdef"], ["xy"], max_length=6)
    assert row["input_ids"] == [1, ord("e"), ord("f"), ord("x"), ord("y"), 2]
    assert row["labels"] == [IGNORE_INDEX] * 3 + [ord("x"), ord("y"), 2]


def test_target_that_leaves_no_room_is_an_error(tok) -> None:
    with pytest.raises(DataError) as info:
        encode_prompt_target(tok, ["Q:", "Q:"], [" ok", " word" * 10], max_length=8)
    assert str(info.value) == (
        "example 1: target ' word word word word word word word word' takes 11 tokens with "
        "eos, leaving no room for the prompt within max_length 8"
    )
    with pytest.raises(DataError, match=r"^example 0: .* takes 3 tokens"):
        encode_prompt_target(CharTokenizer(), ["abc"], ["xy"], max_length=4)  # BOS + 3 = 4


def test_mismatched_prompts_and_targets(tok) -> None:
    with pytest.raises(ValueError, match="2 prompts and 1 targets"):
        encode_prompt_target(tok, ["a", "b"], ["c"], max_length=16)


def test_collator_right_pads_and_matches_seq2seq_collator(tok) -> None:
    from transformers import DataCollatorForSeq2Seq

    rows = encode_prompt_target(tok, PROMPTS[:3], [" a", " bc d", " unanswerable"], 48)
    batch = PromptTargetCollator(tok.pad_token_id)(rows)
    width = max(len(r["input_ids"]) for r in rows)
    assert {k: tuple(v.shape) for k, v in batch.items()} == {
        k: (3, width) for k in ("input_ids", "attention_mask", "labels")
    }
    n = len(rows[1]["input_ids"])
    assert n < width
    assert batch["input_ids"][1, n:].eq(tok.pad_token_id).all()
    assert batch["attention_mask"][1, n:].eq(0).all()
    assert batch["labels"][1, n:].eq(IGNORE_INDEX).all()
    assert batch["input_ids"][1, :n].tolist() == rows[1]["input_ids"]
    assert tok.padding_side == "right"  # the library collator pads on the tokenizer's side
    library = DataCollatorForSeq2Seq(tok, label_pad_token_id=IGNORE_INDEX, return_tensors="pt")
    for key, value in library([dict(r) for r in rows]).items():
        assert torch.equal(batch[key], value), key


def test_loss_is_over_target_tokens_only(tok, model) -> None:
    rows = encode_prompt_target(tok, PROMPTS[:2], [" Broncos", " unanswerable"], 48)
    batch = PromptTargetCollator(tok.pad_token_id)(rows)
    model.eval()
    with torch.no_grad():
        out = model(**batch)
    logits = out.logits[:, :-1].float()  # (B, T-1, V): position t predicts token t+1
    gold = batch["labels"][:, 1:]  # (B, T-1)
    keep = gold != IGNORE_INDEX
    expected = torch.nn.functional.cross_entropy(logits[keep], gold[keep])
    assert keep.sum() == sum(len(r["labels"]) - r["labels"].count(IGNORE_INDEX) for r in rows)
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_batched_greedy_equals_one_at_a_time_in_order(tok, model) -> None:
    model.train()
    batched = greedy_generate(model, tok, PROMPTS, max_new_tokens=5, batch_size=3)
    alone = [greedy_generate(model, tok, [p], max_new_tokens=5)[0] for p in PROMPTS]
    assert batched == alone
    assert len(set(batched)) == len(PROMPTS)  # distinct outputs: a reordering would show
    assert all(b == b.strip() and "\n" not in b for b in batched)
    reversed_out = greedy_generate(model, tok, PROMPTS[::-1], max_new_tokens=5, batch_size=2)
    assert reversed_out == batched[::-1]
    assert model.training  # the caller's mode is restored
    assert tok.padding_side == "right"  # the tokenizer is left as it was


def _stop_ids(tok) -> set[int]:
    """eos and the ids of tokens holding a newline."""
    return {tok.eos_token_id, *(i for i in range(len(tok)) if "\n" in tok.decode([i]))}


def _scripted(model, script: list[int]) -> list[int]:
    """Make the LM head emit `script` token by token; returns a list counting head calls."""
    calls: list[int] = []

    def hook(module, inputs, output):  # output (B, T, V)
        forced = torch.full_like(output, -1e4)
        forced[..., script[min(len(calls), len(script) - 1)]] = 0.0
        calls.append(1)
        return forced

    model.lm_head.register_forward_hook(hook)
    return calls


@pytest.mark.parametrize(
    ("text", "stop", "expected"),
    [
        (" Denver Broncos\nQuestion: next", "newline", "Denver Broncos"),
        (" Denver Broncos", "eos", "Denver Broncos"),
        ("\nDenver", "newline", ""),
    ],
)
def test_generation_stops_at_newline_or_eos(tok, text: str, stop: str, expected: str) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    ids = tok(text, add_special_tokens=False)["input_ids"]
    script = ids + [tok.eos_token_id] * (stop == "eos") + tok(" junk")["input_ids"] * 5
    config = LlamaConfig(
        num_hidden_layers=1,
        hidden_size=16,
        intermediate_size=32,
        num_attention_heads=2,
        num_key_value_heads=1,
        vocab_size=len(tok),
    )
    model = LlamaForCausalLM(config)
    calls = _scripted(model, script)
    out = greedy_generate(model, tok, ["Answer:", "Q: who?\nAnswer:"], max_new_tokens=20)
    assert out == [expected, expected]
    stops = _stop_ids(tok)
    stop_at = next(i for i, t in enumerate(script) if t in stops)
    assert len(calls) == stop_at + 1  # decoding ended at the stop token, not max_new_tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" Denver.\n\nQuestion", "Denver."),
        ("  spaced out  ", "spaced out"),
        ("", ""),
    ],
)
def test_continuation_text(tok, text: str, expected: str) -> None:
    ids = tok(text, add_special_tokens=False)["input_ids"]
    stops = {tok.eos_token_id, *(i for i in ids if "\n" in tok.decode([i]))}
    assert continuation_text(tok, [*ids, tok.eos_token_id, 300, 301], stops) == expected


def test_collator_drives_one_trainer_step(tok, tmp_path: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainingArguments

    torch.manual_seed(0)
    config = LlamaConfig(
        num_hidden_layers=1,
        hidden_size=16,
        intermediate_size=32,
        num_attention_heads=2,
        num_key_value_heads=1,
        vocab_size=len(tok),
    )
    model = LlamaForCausalLM(config)
    before = model.model.layers[0].mlp.up_proj.weight.clone()
    rows = encode_prompt_target(tok, PROMPTS[:4], [" a", " b c", " unanswerable", " d"], 48)
    args = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=1,
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=rows,
        data_collator=PromptTargetCollator(tok.pad_token_id),
    )
    result = trainer.train()
    assert torch.isfinite(torch.tensor(result.training_loss))
    assert not torch.equal(before, model.model.layers[0].mlp.up_proj.weight)
