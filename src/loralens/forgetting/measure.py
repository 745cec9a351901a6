"""Score the base model and each run's model, as a causal LM, on the forgetting probes: the
perplexity of a general text and zero-shot accuracy on other tasks (template fixed by the base).

A classification run's backbone (its adapter merged) is put under the base model's LM head (with
tied embeddings, as in SmolLM2, the head is the run's own embedding matrix); a language-modelling
or QA run is its own causal LM.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from loralens.baselines.zero_shot import zero_shot_predictions
from loralens.config import RunConfig
from loralens.data import TaskData, load_task
from loralens.errors import ConfigError
from loralens.evaluation import score
from loralens.evaluation.perplexity import nll_metrics, window_nll
from loralens.kinds import get_kind
from loralens.kinds.language_modeling import document_records, plan_summary, test_plan
from loralens.task_metrics import get_metric
from loralens.training.folder import TrainingRun


def probe_data(cfg: RunConfig) -> tuple[TaskData | None, list[TaskData]]:
    """The forgetting text and tasks of a study config, loaded with their fixed splits."""
    fg = cfg.study.forgetting
    text = load_task(fg.text, cfg.task.data_dir) if fg.text else None
    if text is not None and text.spec.kind != "language_modeling":
        raise ConfigError(
            f"study.forgetting.text: '{fg.text}' is a {text.spec.kind} task; "
            "allowed: a language_modeling task"
        )
    n = fg.max_examples  # the template is chosen on as many val examples as are scored
    tasks = [load_task(t, cfg.task.data_dir, max_val=n, max_test=n) for t in fg.tasks]
    for t in tasks:
        if not get_kind(t.spec.kind).labelled or not t.spec.prompts:
            raise ConfigError(
                f"study.forgetting.tasks: '{t.spec.name}' has no zero-shot "
                "prompts; allowed: classification tasks with prompts"
            )
    return text, tasks


def text_score(
    model: PreTrainedModel, tok: PreTrainedTokenizerBase, text: TaskData, block: int, limit: int
) -> dict[str, Any]:
    """Perplexity of the text's test documents over strided windows within each, at most
    `limit` windows sampled evenly across all of them (split seed 0), with per-document sums."""
    plan = test_plan(text, tok, block, limit, seed=0)
    per_window = window_nll(model, plan.ids, plan.windows)  # (W, 2)
    records = document_records(plan, per_window)
    return {
        "task": text.spec.name,
        **nll_metrics(per_window),
        "tokens": int(per_window[:, 1].sum()),
        **plan_summary(plan),
        "block": plan.block,
        "stride": plan.stride,
        "document_ids": [r["id"] for r in records],
        "document_nll": [r["nll_sum"] for r in records],
        "document_tokens": [r["tokens"] for r in records],
    }


def task_score(
    model, tok, data: TaskData, template: int, max_length: int, batch: int
) -> dict[str, Any]:
    """Zero-shot accuracy (and the task's metrics) on its test subset with one template."""
    spec = data.spec
    preds = zero_shot_predictions(
        model, tok, spec, spec.prompts[template], data.splits.test, max_length, batch
    ).numpy()
    labels = np.array([e.label for e in data.splits.test])
    return {
        "task": spec.name,
        "template": template,
        "examples": len(labels),
        **score(spec, labels, preds),
        "correct": (preds == labels).astype(int).tolist(),
    }


def best_template(model, tok, data: TaskData, max_length: int, batch: int) -> int:
    """The prompt template the base model scores best on the task's val split."""
    spec = data.spec
    metric = get_metric(spec.primary_metric)
    labels = np.array([e.label for e in data.splits.val])
    values = [
        score(
            spec,
            labels,
            zero_shot_predictions(model, tok, spec, p, data.splits.val, max_length, batch).numpy(),
        )[metric.name]
        for p in spec.prompts
    ]
    return int(np.argmax(values) if metric.greater_is_better else np.argmin(values))


def measure(model, tok, cfg: RunConfig, templates: dict[str, int] | None) -> dict[str, Any]:
    """Every forgetting probe of one model; `templates` None: choose them (the base model)."""
    text, tasks = probe_data(cfg)
    fg, length, batch = cfg.study.forgetting, cfg.model.max_length, cfg.training.eval_batch_size
    if templates is None:
        templates = {t.spec.name: best_template(model, tok, t, length, batch) for t in tasks}
    return {
        "text": text_score(model, tok, text, length, fg.max_windows) if text else None,
        "tasks": [task_score(model, tok, t, templates[t.spec.name], length, batch) for t in tasks],
    }


def causal_lm_of(run: TrainingRun) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The run's model as a causal LM (a classifier's merged backbone under the base LM head)."""
    from loralens.models.load import load_causal_lm

    model, tok = run.load_model()
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    if get_kind(run.task_kind()).causal_lm:  # already a causal LM (language modelling, QA)
        return model, tok
    lm, tok = load_causal_lm(run.config().model.name)
    return transplant(lm, model), tok


def transplant(lm: PreTrainedModel, model: PreTrainedModel) -> PreTrainedModel:
    """`lm` with `model`'s backbone weights (same architecture) under its own LM head.

    With tied embeddings (SmolLM2) the head is the embedding matrix, so it is the run's.
    """
    backbone = getattr(model, model.base_model_prefix)
    try:
        getattr(lm, lm.base_model_prefix).load_state_dict(backbone.state_dict())
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"the run's backbone does not fit the base causal LM: {first}") from None
    return lm


@torch.no_grad()
def measure_run(run: TrainingRun, cfg: RunConfig, base: dict[str, Any]) -> dict[str, Any]:
    """The run's scores on the probes the base was scored on (its templates), beside the base's."""
    model, tok = causal_lm_of(run)
    templates = {t["task"]: t["template"] for t in base["tasks"]}
    return measure(model, tok, cfg, templates)
