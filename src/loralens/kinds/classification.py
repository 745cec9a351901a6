"""The classification kind: a sequence-classification head on the last real token."""

from __future__ import annotations

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
)
