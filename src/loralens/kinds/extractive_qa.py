"""The extractive QA kind (SQuAD v2): a causal LM learns to say the answer after a fixed prompt.

Training: rows of `qa_prompt(context, question)` + `qa_target(answers)` + eos, the loss on the
target tokens only (the first gold answer, or "unanswerable"), cut from the prompt's left to
`model.max_length`. Test: greedy decoding of at most `MAX_NEW_TOKENS` tokens (prompts cut to
leave room for them), each generation read as a SQuAD prediction ("unanswerable" -> no answer)
and scored by the official SQuAD v2 exact match and F1, overall and per HasAns/NoAns group.

Selection on val: the HF Trainer cannot generate inside `compute_metrics`, so checkpoints (and
hyperparameter searches) are selected by `answer_nll`, the mean cross-entropy of the gold answer
tokens given the prompt (lower is better), not by F1. It is a proxy: the checkpoint with the
lowest answer loss is usually, not always, the one with the best generated F1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from loralens.data import Example, TaskData, TaskSpec
from loralens.errors import ConfigError
from loralens.evaluation.generate import (
    PromptTargetCollator,
    encode_prompt_target,
    greedy_generate,
    qa_prompt,
    qa_target,
)
from loralens.evaluation.squad_metrics import per_example, prediction_from_generation, squad_scores
from loralens.kinds import Evaluation, TaskKind

MAX_NEW_TOKENS = 16  # SQuAD answers are short spans; generation stops at eos or a newline
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


def _encode(data: TaskData, tok, max_length: int, budgets: dict, seed: int, splits) -> dict:
    """Train and val as prompt+target rows (loss on the answer); test as prompts to complete.

    The budgets (counted in questions) were applied when splitting.
    """
    rows = {
        split: encode_prompt_target(
            tok,
            [prompt_of(e) for e in examples],
            [qa_target(e.answers) for e in examples],
            max_length,
        )
        for split, examples in (("train", data.splits.train), ("val", data.splits.val))
        if split in splits
    }
    budget = max_length - MAX_NEW_TOKENS  # prompt + generation fit in max_length
    if "test" in splits:
        rows["test"] = [{"prompt": prompt_of(e), "budget": budget} for e in data.splits.test]
    return rows


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
    spec: TaskSpec, examples: Sequence[Example], generations: Sequence[str], how: str
) -> Evaluation:
    """Generations scored as SQuAD v2 predictions, with one record per question."""
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
        }
        for i, (e, p, g, x, f) in enumerate(zip(examples, preds, golds, exact, f1, strict=True))
    ]
    detail = (
        f"{how}; {summary['total']} questions ({int(summary.get('HasAns_total', 0))} "
        f"answerable, {int(summary.get('NoAns_total', 0))} unanswerable)"
    )
    return Evaluation(qa_metrics(spec, summary), records, detail)


def _evaluate(data: TaskData, model, tok, rows: list[dict], batch: int) -> Evaluation:
    """Greedy answers to the test prompts, scored by the official SQuAD v2 script's logic."""
    budget = rows[0]["budget"]
    generations = greedy_generate(
        model, tok, [r["prompt"] for r in rows], MAX_NEW_TOKENS, batch, budget
    )
    how = f"greedy decoding of at most {MAX_NEW_TOKENS} tokens, prompts cut to {budget} tokens"
    return score_generations(data.spec, data.splits.test, generations, how)


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
    """The base model answering each test prompt after the same k training demonstrations.

    Prompts are cut from the left like every other: a short max_length loses demonstrations
    first, never the question.
    """
    prefix = demonstrations(data.splits.train, k, seed)
    budget = max_length - MAX_NEW_TOKENS
    prompts = [prefix + prompt_of(e) for e in data.splits.test]
    generations = greedy_generate(model, tok, prompts, MAX_NEW_TOKENS, batch, budget)
    how = (
        f"{k} training demonstrations (seed {seed}) before each prompt, greedy decoding of at "
        f"most {MAX_NEW_TOKENS} tokens, prompts cut from the left to {budget} tokens"
    )
    return score_generations(data.spec, data.splits.test, generations, how)


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
    selection_metric="answer_nll",
)
