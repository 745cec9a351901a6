"""The baselines stage: majority, stratified random (5 seeds), zero-shot chosen on val."""

from __future__ import annotations

import numpy as np

from loralens.baselines.simple import majority_predictions, random_predictions
from loralens.baselines.zero_shot import zero_shot_predictions
from loralens.config import RunConfig
from loralens.data import TaskData
from loralens.data.run_task import load_run_task
from loralens.evaluation import score
from loralens.stats.bootstrap import bootstrap_ci
from loralens.task_metrics import get_metric

RANDOM_SEEDS = (0, 1, 2, 3, 4)


def accuracy_ci(labels: np.ndarray, preds: np.ndarray) -> list[float]:
    """95% bootstrap CI of accuracy over test examples."""
    correct = (labels == preds).astype(float)
    if correct.min() == correct.max():
        return [float(correct[0]), float(correct[0])]
    ci = bootstrap_ci(correct, n_resamples=2000, method="percentile", rng=0)
    return [ci.low, ci.high]


def _entry(data: TaskData, name: str, preds: np.ndarray, detail: str) -> dict:
    labels = np.array([e.label for e in data.splits.test])
    return {
        "task": data.spec.name,
        "name": name,
        "test": score(data.spec, labels, preds),
        "ci": {"accuracy": accuracy_ci(labels, preds)},
        "std": None,
        "detail": detail,
        "predictions": preds.tolist(),
    }


def majority(data: TaskData) -> dict:
    """Always the most frequent training label."""
    train = [e.label for e in data.splits.train]
    preds = majority_predictions(train, len(data.splits.test))
    return _entry(data, "majority", preds, f"always '{data.spec.label_names[preds[0]]}'")


def stratified_random(data: TaskData) -> dict:
    """Labels drawn from the training distribution; mean and std over 5 seeds."""
    train = [e.label for e in data.splits.train]
    labels = np.array([e.label for e in data.splits.test])
    runs = [
        score(data.spec, labels, random_predictions(train, len(labels), s)) for s in RANDOM_SEEDS
    ]
    entry = _entry(
        data,
        "random",
        random_predictions(train, len(labels), RANDOM_SEEDS[0]),
        f"stratified by the train label distribution, {len(RANDOM_SEEDS)} seeds",
    )
    entry["test"] = {m: float(np.mean([r[m] for r in runs])) for m in runs[0]}
    entry["std"] = {m: float(np.std([r[m] for r in runs], ddof=1)) for m in runs[0]}
    entry["ci"] = None  # the value is a mean over seeds: its spread is their SD, not seed 0's CI
    return entry


def zero_shot(data: TaskData, cfg: RunConfig, batch_size: int) -> dict:
    """Each prompt template scored on val; the best one (on val) evaluated once on test."""
    from loralens.models.load import load_causal_lm

    model, tok = load_causal_lm(cfg.model.name)
    spec, length = data.spec, cfg.model.max_length  # the input as every model sees it
    val_labels = np.array([e.label for e in data.splits.val])
    templates = []
    for i, prompt in enumerate(spec.prompts):
        preds = zero_shot_predictions(model, tok, spec, prompt, data.splits.val, length, batch_size)
        templates.append(
            {"template": i, "text": prompt.template, "val": score(spec, val_labels, preds.numpy())}
        )
    if data.prompt is not None:  # the prompt every fine-tuned model reads: step 0's decision
        best = templates[spec.prompts.index(data.prompt)]
        how = "the prompt every fine-tuned model reads (task.prompt)"
    else:
        primary = get_metric(spec.primary_metric)
        pick = max if primary.greater_is_better else min
        best = pick(templates, key=lambda t: t["val"][primary.name])
        how = "chosen on val"
    preds = zero_shot_predictions(
        model, tok, spec, spec.prompts[best["template"]], data.splits.test, length, batch_size
    ).numpy()
    entry = _entry(
        data, "zero_shot", preds, f"template {best['template'] + 1} of {len(templates)}, {how}"
    )
    return entry | {"templates": templates, "model": cfg.model.name}


def base_model_entry(data: TaskData, cfg: RunConfig, batch_size: int) -> dict:
    """The pretrained model itself, scored by its task kind's evaluation on test (zero-shot)."""
    from loralens.kinds import get_kind

    kind = get_kind(data.spec.kind)
    budgets = {k: getattr(cfg.task, k) for k in ("max_train", "max_val", "max_test")}
    model, tok = kind.load_model(cfg.model.name, data.spec.num_labels)  # the tokenizer once
    kind.check_model(model, cfg.model.max_length)
    rows = kind.encode(data, tok, cfg.model.max_length, budgets, cfg.task.split_seed, ("test",))
    result = kind.evaluate(data, model, tok, rows["test"], batch_size)
    return {
        "task": data.spec.name,
        "name": "zero_shot",
        "test": result.metrics,
        "ci": None,
        "std": None,
        "detail": f"the pretrained model, no fine-tuning; {result.detail}",
        "model": cfg.model.name,
    }


def k_shot_entry(data: TaskData, cfg: RunConfig, batch_size: int) -> dict:
    """Extractive QA: the pretrained model after fixed training demonstrations, on test."""
    from loralens.kinds import get_kind
    from loralens.kinds.extractive_qa import k_shot_evaluate

    kind = get_kind(data.spec.kind)
    model, tok = kind.load_model(cfg.model.name, data.spec.num_labels)
    kind.check_model(model, cfg.model.max_length)
    result = k_shot_evaluate(data, model, tok, cfg.model.max_length, batch_size)
    return {
        "task": data.spec.name,
        "name": "k_shot",
        "test": result.metrics,
        "ci": None,
        "std": None,
        "detail": f"the pretrained model, no fine-tuning; {result.detail}",
        "model": cfg.model.name,
    }


def run_baselines(cfg: RunConfig, names: list[str], batch_size: int) -> list[dict]:
    """The requested baselines the task's kind offers (`TaskKind.baselines`: e.g. majority,
    random and the zero-shot prompt for classification, the pretrained model for language
    modelling, and after k demonstrations for extractive QA), scored by the one evaluation path."""
    from loralens.kinds import get_kind

    data = load_run_task(cfg)
    offered = get_kind(data.spec.kind).baselines
    entries = (fn(data, cfg, batch_size) for name, fn in offered.items() if name in names)
    return [entry for entry in entries if entry is not None]
