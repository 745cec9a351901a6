"""The extractive QA kind (SQuAD v2): a causal LM learns to say the answer after a fixed prompt.

Training: rows of `qa_prompt(window, question)` + `qa_target(answer)` + eos, the loss on the
target tokens only; a context too long for `model.max_length` is read through sliding windows
(`loralens.evaluation.qa_windows`): the first window holding a whole gold answer (that answer is
the target), an unanswerable question's first window ("unanswerable"); a question whose answer
no window holds is left out and counted, never trained on without its answer. Test: greedy
decoding of at most `MAX_NEW_TOKENS` tokens in every window of a question (prompts leave room
for them), each generation read as a SQuAD prediction (no answer when it normalizes to
"unanswerable"), the most confident answer kept, scored by the official SQuAD v2 exact match
and F1, overall and per HasAns/NoAns group. Answers no test window holds are counted.

Selection on val: the HF Trainer cannot generate inside `compute_metrics`, so checkpoints (and
hyperparameter searches) are selected by `answer_nll`, the mean cross-entropy of the gold answer
tokens given the prompt (lower is better), not by F1. It is a proxy: the checkpoint with the
lowest answer loss is usually, not always, the one with the best generated F1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from loralens.data import Example, TaskData, TaskSpec
from loralens.errors import ConfigError
from loralens.evaluation.generate import (
    PromptTargetCollator,
    encode_prompt_target,
    greedy_generate_scored,
    qa_prompt,
    qa_target,
)
from loralens.evaluation.qa_windows import (
    best_answer,
    training_prompt,
    window_prompts,
)
from loralens.evaluation.squad_metrics import per_example, prediction_from_generation, squad_scores
from loralens.kinds import Evaluation, TaskKind

MAX_NEW_TOKENS = 16  # SQuAD answers are short spans; generation stops at eos or a newline
# What a run computes: 2 = sliding windows over long contexts (never an answer cut away), answers
# lost counted, "Unanswerable." read as no answer (1 cut every prompt from its left)
VERSION = 2
K_SHOT, K_SHOT_SEED = 2, 0  # the k-shot baseline: training demonstrations and their draw

# official summary key -> registry metric (fractions: the script's percentages / 100)
SUMMARY_KEYS = {
    "f1": "squad_f1",
    "exact": "exact_match",
    "HasAns_f1": "has_answer_f1",
    "HasAns_exact": "has_answer_exact",
    "NoAns_f1": "no_answer_f1",
    "NoAns_exact": "no_answer_exact",
}


def _load(model_name: str, num_labels: int):
    from loralens.models.load import load_causal_lm

    return load_causal_lm(model_name, dtype=torch.float32)


def _check_model(model, max_length: int) -> None:
    """max_length must leave room for the prompt beside the answer and fit the model's context."""
    context = getattr(model.config, "max_position_embeddings", None)
    if max_length <= 2 * MAX_NEW_TOKENS:
        raise ConfigError(
            f"model.max_length {max_length} leaves no room for a QA prompt beside the "
            f"{MAX_NEW_TOKENS} generated tokens; give more than {2 * MAX_NEW_TOKENS}"
        )
    if context is not None and max_length > context:
        raise ConfigError(
            f"model.max_length {max_length} exceeds the model's context of {context} tokens; "
            f"allowed: {2 * MAX_NEW_TOKENS + 1}..{context}"
        )


def prompt_of(example: Example) -> str:
    """The QA prompt of a question."""
    context, question = example.texts
    return qa_prompt(context, question)


def training_rows(tok, examples: Sequence[Example], max_length: int) -> list[dict]:
    """Prompt+target rows of the questions whose answer a window holds (see module doc)."""
    prompts, targets = [], []
    for e in examples:
        picked = training_prompt(tok, e, max_length)
        if picked is not None:
            prompt, answer = picked
            prompts.append(prompt)
            targets.append(qa_target([answer] if answer is not None else []))
    return encode_prompt_target(tok, prompts, targets, max_length)


def window_rows(tok, examples: Sequence[Example], max_length: int) -> list[dict]:
    """One row per window of each test question: its prompt, question index, whether it holds
    a gold answer, and the prompt budget."""
    budget = max_length - MAX_NEW_TOKENS  # prompt + generation fit in max_length
    return [
        {"prompt": w.prompt, "question": i, "holds_answer": w.holds_answer, "budget": budget}
        for i, e in enumerate(examples)
        for w in window_prompts(tok, e, budget)
    ]


def _encode(data: TaskData, tok, max_length: int, budgets: dict, seed: int, splits) -> dict:
    """Train and val as prompt+target rows (loss on the answer); test as window prompts.

    The budgets (counted in questions) were applied when splitting.
    """
    rows = {
        split: training_rows(tok, examples, max_length)
        for split, examples in (("train", data.splits.train), ("val", data.splits.val))
        if split in splits
    }
    if "test" in splits:
        rows["test"] = window_rows(tok, data.splits.test, max_length)
    return rows


def _summarize(data: TaskData, rows: dict[str, list]) -> dict[str, dict[str, int]]:
    """Per encoded split: questions, rows (test: windows) and answers lost to the length (train
    and val: left out; test: no window holds a gold answer, so no model can give it)."""
    out = {}
    for split in ("train", "val"):
        if split in rows:
            n = len(getattr(data.splits, split))
            out[split] = {
                "questions": n,
                "rows": len(rows[split]),
                "answers_lost": n - len(rows[split]),
            }
    if "test" in rows:
        test = data.splits.test
        held = {r["question"] for r in rows["test"] if r["holds_answer"]}
        lost = sum(bool(e.answers) and i not in held for i, e in enumerate(test))
        out["test"] = {"questions": len(test), "rows": len(rows["test"]), "answers_lost": lost}
    return out


def _trainer_metrics(spec: TaskSpec):
    def preprocess(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # (B, T-1) per-token cross-entropy: the (B, T, V) logits are never gathered on val
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        targets = labels[:, 1:].clamp(min=0)  # -100 (prompt, padding) is masked below
        return -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)

    def compute_metrics(pred) -> dict[str, float]:
        nll = np.asarray(pred.predictions, dtype=np.float64)  # (N, T-1)
        keep = np.asarray(pred.label_ids)[:, 1:] != -100  # the answer tokens and eos
        return {"answer_nll": float(nll[keep].mean())}

    return compute_metrics, preprocess


def qa_metrics(spec: TaskSpec, summary: dict[str, float]) -> dict[str, float]:
    """The task's declared metrics from the official summary (a group without questions has
    none), in the task's order, as fractions."""
    values = {SUMMARY_KEYS[k]: v / 100.0 for k, v in summary.items() if k in SUMMARY_KEYS}
    return {m: values[m] for m in spec.metrics if m in values}


def score_generations(
    spec: TaskSpec,
    examples: Sequence[Example],
    generations: Sequence[str],
    how: str,
    windows: Sequence[dict] | None = None,
) -> Evaluation:
    """Generations scored as SQuAD v2 predictions, with one record per question (and, with its
    `windows` summary, how many windows it was read through and whether one held its answer)."""
    preds = [prediction_from_generation(g) for g in generations]
    golds = [list(e.answers) for e in examples]
    summary = squad_scores(golds, preds)
    exact, f1 = per_example(golds, preds)
    records = [
        {
            "index": i,
            "id": e.id,
            "prediction": p,
            "golds": g,
            "exact": int(x),
            "f1": float(f),
            **(windows[i] if windows is not None else {}),
        }
        for i, (e, p, g, x, f) in enumerate(zip(examples, preds, golds, exact, f1, strict=True))
    ]
    detail = (
        f"{how}; {summary['total']} questions ({int(summary.get('HasAns_total', 0))} "
        f"answerable, {int(summary.get('NoAns_total', 0))} unanswerable)"
    )
    return Evaluation(qa_metrics(spec, summary), records, detail)


def answers_of_windows(
    n_questions: int, rows: Sequence[dict], scored: Sequence[tuple[str, float]]
) -> tuple[list[str], list[dict]]:
    """Per question its best window's answer (`best_answer`) and its windows' summary."""
    preds: list[list[str]] = [[] for _ in range(n_questions)]
    confs: list[list[float]] = [[] for _ in range(n_questions)]
    held = [False] * n_questions
    for row, (text, conf) in zip(rows, scored, strict=True):
        q = row["question"]
        preds[q].append(prediction_from_generation(text))
        confs[q].append(conf)
        held[q] = held[q] or row["holds_answer"]
    answers = [best_answer(p, c) for p, c in zip(preds, confs, strict=True)]
    return answers, [
        {"windows": len(p), "answer_in_input": h} for p, h in zip(preds, held, strict=True)
    ]


def _windowed(data: TaskData, model, tok, rows: list[dict], batch: int, prefix: str, how: str):
    """Every window's prompt (after `prefix`) answered greedily; per question the best answer."""
    budget = rows[0]["budget"]
    prompts = [prefix + r["prompt"] for r in rows]
    scored = greedy_generate_scored(model, tok, prompts, MAX_NEW_TOKENS, batch, budget)
    answers, windows = answers_of_windows(len(data.splits.test), rows, scored)
    lost = sum(
        bool(e.answers) and not w["answer_in_input"]
        for e, w in zip(data.splits.test, windows, strict=True)
    )
    how = (
        f"{how}, in {len(rows)} windows of the contexts (the most confident answer per question; "
        f"{lost} answers in no window)"
    )
    return score_generations(data.spec, data.splits.test, answers, how, windows)


def _evaluate(data: TaskData, model, tok, rows: list[dict], batch: int) -> Evaluation:
    """Greedy answers in every window of the test prompts, scored by the official SQuAD v2
    script's logic."""
    how = (
        f"greedy decoding of at most {MAX_NEW_TOKENS} tokens, prompts of {rows[0]['budget']} tokens"
    )
    return _windowed(data, model, tok, rows, batch, "", how)


def demonstrations(train: Sequence[Example], k: int, seed: int) -> str:
    """k training questions with their answers, drawn with `seed`, as a prompt prefix."""
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(train), size=min(k, len(train)), replace=False).tolist())
    return "".join(f"{prompt_of(train[i])}{qa_target(train[i].answers)}\n\n" for i in picked)


def k_shot_evaluate(
    data: TaskData,
    model,
    tok,
    max_length: int,
    batch: int,
    k: int = K_SHOT,
    seed: int = K_SHOT_SEED,
) -> Evaluation:
    """The base model answering each test window's prompt after the same k training
    demonstrations.

    The prompt with its window fits the budget alone; the demonstrations before it are cut from
    the left to what remains: a short max_length loses demonstrations first, never the window.
    """
    prefix = demonstrations(data.splits.train, k, seed)
    rows = window_rows(tok, data.splits.test, max_length)
    how = (
        f"{k} training demonstrations (seed {seed}) before each prompt, cut from the left to "
        f"{rows[0]['budget']} tokens, greedy decoding of at most {MAX_NEW_TOKENS} tokens"
    )
    return _windowed(data, model, tok, rows, batch, prefix, how)


def _pretrained(data: TaskData, cfg: Any, batch_size: int) -> dict:
    """The pretrained model, no fine-tuning, scored like a run."""
    from loralens.baselines.run import base_model_entry

    return base_model_entry(data, cfg, batch_size)


def _k_shot(data: TaskData, cfg: Any, batch_size: int) -> dict:
    """The pretrained model after k training demonstrations in its prompt."""
    from loralens.baselines.run import k_shot_entry

    return k_shot_entry(data, cfg, batch_size)


EXTRACTIVE_QA = TaskKind(
    name="extractive_qa",
    description="answers generated after a context and question (SQuAD v2 exact match and F1)",
    load_model=_load,
    encode=_encode,
    collator=lambda tok: PromptTargetCollator(tok.pad_token_id),
    trainer_metrics=_trainer_metrics,
    evaluate=_evaluate,
    check_model=_check_model,
    servable=False,
    baselines={"zero_shot": _pretrained, "k_shot": _k_shot},
    selection_metric="answer_nll",
    summarize=_summarize,
    version=VERSION,
)
