"""The extractive_qa kind: encoding, selection on val, generation scored as SQuAD v2."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from loralens.data import Example, load_task
from loralens.errors import ConfigError, DataError
from loralens.evaluation.generate import IGNORE_INDEX
from loralens.evaluation.qa_windows import best_answer
from loralens.kinds import encoded_summary, get_kind, selection_metric
from loralens.kinds.extractive_qa import (
    MAX_NEW_TOKENS,
    answers_of_windows,
    demonstrations,
    k_shot_evaluate,
    qa_metrics,
    training_rows,
    window_rows,
)
from loralens.models.load import load_causal_lm
from loralens.task_metrics import METRICS
from tests.qa_data import QA_METRICS, write_qa_task

KIND = get_kind("extractive_qa")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("qa")
    return load_task(str(write_qa_task(folder, n_train=40, n_test=10)), max_train=16, max_val=4)


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir: Path):
    return load_causal_lm(str(tiny_llama_dir))


def test_registered_with_answer_nll_selection() -> None:
    assert not KIND.servable and KIND.selection_metric == "answer_nll"
    assert selection_metric("squad_f1") == "answer_nll"
    assert selection_metric("f1") == "f1" and selection_metric("nll") == "nll"


def test_selection_on_answer_nll_is_lower_is_better(tmp_path: Path) -> None:
    from loralens.config import load_config
    from loralens.training.setup import training_arguments

    args = training_arguments(load_config(None), tmp_path, "cpu", selection_metric("squad_f1"))
    assert args.metric_for_best_model == "eval_answer_nll" and args.greater_is_better is False


def test_encode_puts_the_loss_on_the_answer_only(data, tiny) -> None:
    _, tok = tiny
    rows = KIND.encode(data, tok, 48, {}, 0, ("train", "val", "test"))
    assert (len(rows["train"]), len(rows["val"])) == (16, 4)
    assert {r["question"] for r in rows["test"]} == set(range(10))  # windows of every question
    assert KIND.summarize(data, rows)["train"]["answers_lost"] == 0
    for row, ex in zip(rows["train"], data.splits.train, strict=True):
        labels = row["labels"]
        n_prompt = next(i for i, t in enumerate(labels) if t != IGNORE_INDEX)
        assert n_prompt > 0 and all(t == IGNORE_INDEX for t in labels[:n_prompt])
        assert labels[n_prompt:] == row["input_ids"][n_prompt:]  # the answer and eos
        assert labels[-1] == tok.eos_token_id and len(row["input_ids"]) <= 48
        answer = tok.decode(labels[n_prompt:-1]).strip()
        assert answer == (ex.answers[0] if ex.answers else "unanswerable")
    assert rows["test"][0]["budget"] == 48 - MAX_NEW_TOKENS
    assert rows["test"][0]["prompt"].endswith("Answer:")


def test_answer_nll_is_the_mean_over_answer_tokens() -> None:
    compute, preprocess = KIND.trainer_metrics(None)
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 7)  # (B, T, V)
    labels = torch.tensor([[-100, -100, 3, 4, -100], [-100, 1, 2, 6, 5]])
    nll = preprocess(logits, labels)  # (B, T-1)
    logp = torch.log_softmax(logits, -1)
    expected = [
        -logp[b, t - 1, labels[b, t]].item()
        for b in range(2)
        for t in range(1, 5)
        if labels[b, t] != -100
    ]
    out = compute(SimpleNamespace(predictions=nll.numpy(), label_ids=labels.numpy()))
    assert out == {"answer_nll": pytest.approx(np.mean(expected))}


def test_evaluate_scores_generations_as_squad(data, tiny) -> None:
    model, tok = tiny
    rows = KIND.encode(data, tok, 64, {}, 0, ("train", "val", "test"))
    result = KIND.evaluate(data, model, tok, rows["test"], 4)
    assert list(result.metrics) == QA_METRICS  # the task's order; both groups present
    assert all(0.0 <= v <= 1.0 for v in result.metrics.values())  # fractions, shown as percent
    has = [r for r in result.records if r["golds"]]
    assert len(result.records) == 10 and (len(has), 10 - len(has)) == (8, 2)
    assert "10 questions (8 answerable, 2 unanswerable)" in result.detail
    # Each metric that declares a per-example score is the mean of its records' scores (the
    # verdict's crossed test reads them); the per-group metrics declare none.
    for name, value in result.metrics.items():
        score = METRICS[name].example_score
        if name in ("squad_f1", "exact_match"):
            assert np.mean([score(r) for r in result.records]) == pytest.approx(value, abs=1e-12)
        else:
            assert score is None
    assert [r["id"] for r in result.records] == [e.id for e in data.splits.test]
    assert set(result.records[0]) == {
        *("index", "id", "prediction", "golds", "exact", "f1", "windows", "answer_in_input")
    }
    assert all(r["answer_in_input"] for r in result.records if r["golds"])


def test_an_empty_group_has_no_metric(data) -> None:
    summary = {"exact": 50.0, "f1": 62.5, "total": 4, "HasAns_exact": 50.0, "HasAns_f1": 62.5}
    summary["HasAns_total"] = 4
    out = qa_metrics(data.spec, summary)
    assert out == {
        "squad_f1": 0.625,
        "exact_match": 0.5,
        "has_answer_f1": 0.625,
        "has_answer_exact": 0.5,
    }


def test_k_shot_prefix_is_fixed_and_scored_alike(data, tiny) -> None:
    model, tok = tiny
    prefix = demonstrations(data.splits.train, 2, 0)
    assert prefix == demonstrations(data.splits.train, 2, 0) and prefix.count("Answer:") == 2
    result = k_shot_evaluate(data, model, tok, 128, 4)
    assert all(0.0 <= v <= 1.0 for v in result.metrics.values()) and len(result.records) == 10
    assert "2 training demonstrations (seed 0)" in result.detail


@pytest.mark.parametrize(
    ("max_length", "message"), [(300, "exceeds the model's context of 256"), (20, "no room")]
)
def test_check_model(tiny, max_length: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        KIND.check_model(tiny[0], max_length)
    KIND.check_model(tiny[0], 256)


def _long_question(answer_at: str) -> Example:
    """A context of ~300 tokens with the answer at its start, middle or end."""
    filler = [f"Sentence {i} says nothing of note about the weather." for i in range(30)]
    place = {"start": 0, "middle": 15, "end": 30}[answer_at]
    sentences = [*filler[:place], "The treasure is buried under the old oak.", *filler[place:]]
    context = " ".join(sentences)
    return Example(
        texts=(context, "Where is the treasure buried?"),
        label=0,
        answers=("under the old oak",),
        answer_starts=(context.index("under the old oak"),),
        id=f"long-{answer_at}",
    )


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_every_training_prompt_holds_its_answer_wherever_it_lies(tiny, where) -> None:
    _, tok = tiny
    ex = _long_question(where)
    (row,) = training_rows(tok, [ex], 64)
    assert len(row["input_ids"]) <= 64
    n_prompt = next(i for i, t in enumerate(row["labels"]) if t != IGNORE_INDEX)
    prompt = tok.decode(row["input_ids"][:n_prompt])
    assert "under the old oak" in prompt  # planted: a left cut loses it at the start/middle
    assert tok.decode(row["labels"][n_prompt:-1]).strip() == "under the old oak"


def test_a_long_test_context_is_read_in_windows_one_holding_the_answer(tiny) -> None:
    _, tok = tiny
    for where in ("start", "middle", "end"):
        rows = window_rows(tok, [_long_question(where)], 64)
        assert len(rows) > 2 and any(r["holds_answer"] for r in rows)
        held = [r for r in rows if r["holds_answer"]]
        assert all("under the old oak" in r["prompt"] for r in held)
        assert all(len(tok(r["prompt"])["input_ids"]) <= 64 - MAX_NEW_TOKENS for r in rows)


def test_an_answer_no_window_can_hold_is_counted_never_trained_on(tiny, data) -> None:
    _, tok = tiny
    long_answer = " ".join(f"word{i}" for i in range(60))
    context = f"Intro. {long_answer} Outro."
    lost = Example(
        texts=(context, "What is said?"),
        label=0,
        answers=(long_answer,),
        answer_starts=(context.index(long_answer),),
        id="lost",
    )
    kept = _long_question("middle")
    train = [lost, kept]
    test_set = dataclasses.replace(
        data, splits=dataclasses.replace(data.splits, train=train, val=[kept], test=train)
    )
    rows = KIND.encode(test_set, tok, 64, {}, 0, ("train", "val", "test"))
    assert len(rows["train"]) == 1  # the question without its answer in any window left out
    summary = encoded_summary(KIND, test_set, rows)
    assert summary["train"] == {"questions": 2, "rows": 1, "answers_lost": 1}
    assert summary["val"]["answers_lost"] == 0
    assert summary["test"]["answers_lost"] == 1 and summary["test"]["questions"] == 2


def test_the_most_confident_window_answers_and_no_answer_needs_every_window() -> None:
    assert best_answer(["", "oak", "elm"], [-0.1, -0.5, -0.9]) == "oak"
    assert best_answer(["", ""], [-0.1, -0.2]) == ""
    rows = [
        {"question": 0, "holds_answer": False},
        {"question": 0, "holds_answer": True},
        {"question": 1, "holds_answer": False},
    ]
    answers, windows = answers_of_windows(
        2, rows, [("Unanswerable.", -0.01), ("oak", -0.3), ("unanswerable", -0.2)]
    )
    assert answers == ["oak", ""]
    assert windows == [
        {"windows": 2, "answer_in_input": True},
        {"windows": 1, "answer_in_input": False},
    ]


def test_a_question_too_long_for_max_length_is_a_clear_error(tiny) -> None:
    _, tok = tiny
    ex = dataclasses.replace(_long_question("start"), texts=("ctx", "why " * 80))
    with pytest.raises(DataError, match=r"raise model\.max_length"):
        window_rows(tok, [ex], 64)
