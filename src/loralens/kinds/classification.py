"""The classification kind: a sequence-classification head on the last real token."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from transformers import DataCollatorWithPadding

from loralens.data import TaskData, TaskSpec
from loralens.evaluation import encode, predict_logits, score
from loralens.kinds import Evaluation, TaskKind


def _load(model_name: str, num_labels: int):
    from loralens.models.load import load_classifier

    return load_classifier(model_name, num_labels, dtype=torch.float32)


def _encode(data: TaskData, tok, max_length: int, budgets: dict, seed: int, splits) -> dict:
    """Each split's inputs, right-truncated (the budgets were applied when splitting)."""
    return {s: encode(data.spec, tok, getattr(data.splits, s), max_length) for s in splits}


def _trainer_metrics(spec: TaskSpec):
    def compute_metrics(pred) -> dict[str, float]:
        return score(spec, pred.label_ids, np.argmax(pred.predictions, axis=-1))

    return compute_metrics, None


def _evaluate(data: TaskData, model, tok, rows: list[dict], batch: int) -> Evaluation:
    """Class logits of every test example, the task's metrics and one record per example."""
    logits = predict_logits(model, rows, tok.pad_token_id, batch)
    preds = logits.argmax(-1).numpy()
    labels = [e.label for e in data.splits.test]
    records = [
        {"index": i, "label": e.label, "pred": int(lg.argmax()), "logits": lg.tolist()}
        for i, (e, lg) in enumerate(zip(data.splits.test, logits, strict=True))
    ]
    return Evaluation(score(data.spec, labels, preds), records)


def _majority(data: TaskData, cfg: Any, batch_size: int) -> dict:
    """The majority class of train, on test."""
    from loralens.baselines.run import majority

    return majority(data)


def _random(data: TaskData, cfg: Any, batch_size: int) -> dict:
    """Stratified random predictions (train's class shares), on test."""
    from loralens.baselines.run import stratified_random

    return stratified_random(data)


def _zero_shot(data: TaskData, cfg: Any, batch_size: int) -> dict | None:
    """The base model's zero-shot prompt (None: the task has no prompts)."""
    from loralens.baselines.run import zero_shot

    return zero_shot(data, cfg, batch_size) if data.spec.prompts else None


CLASSIFICATION = TaskKind(
    name="classification",
    description="label prediction by a classification head (accuracy, F1, MCC)",
    load_model=_load,
    encode=_encode,
    collator=lambda tok: DataCollatorWithPadding(tok),
    trainer_metrics=_trainer_metrics,
    evaluate=_evaluate,
    check_model=lambda model, max_length: None,  # longer inputs are right-truncated
    servable=True,
    labelled=True,
    quantizable=True,
    causal_lm=False,
    baselines={"majority": _majority, "random": _random, "zero_shot": _zero_shot},
)
