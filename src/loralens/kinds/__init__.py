"""Task kinds by registry name: how a kind's inputs are encoded, its model built and trained,
and how it is scored. A task file names its kind (`kind: language_modeling`); training, the
baselines, the hyperparameter search and forgetting all go through the kind's registration."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from loralens.data import TaskData, TaskSpec
from loralens.suggest import unknown_name_message

# (task data, tokenizer, block/max length, budgets (max_train, max_val, max_test), seed, the
# splits wanted) -> rows per split: a split not asked for is never encoded (the search: no test)
EncodeFn = Callable[
    [TaskData, PreTrainedTokenizerBase, int, dict, int, tuple[str, ...]], dict[str, list[dict]]
]


# (task data, run config, eval batch size) -> a baseline's entry (None: not for this task)
BaselineFn = Callable[[TaskData, Any, int], "dict | None"]


@dataclass(frozen=True)
class Evaluation:
    """Test (or val) scores of one model and the per-example records they came from."""

    metrics: dict[str, float]
    records: list[dict[str, Any]]  # predictions.jsonl rows
    detail: str = ""  # how it was scored, e.g. the window and stride of perplexity


@dataclass(frozen=True)
class TaskKind:
    """One task kind: the shapes its pieces take (implementations live in their modules)."""

    name: str
    description: str
    # (model name, number of labels) -> the model to fine-tune and its tokenizer
    load_model: Callable[[str, int], tuple[PreTrainedModel, PreTrainedTokenizerBase]]
    encode: EncodeFn
    collator: Callable[[PreTrainedTokenizerBase], Any]
    # the Trainer's (compute_metrics, preprocess_logits_for_metrics) on val
    trainer_metrics: Callable[[TaskSpec], tuple[Callable, Callable | None]]
    # (data, model, tokenizer, encoded test rows, batch size) -> the one test evaluation
    evaluate: Callable[[TaskData, PreTrainedModel, PreTrainedTokenizerBase, list, int], Evaluation]
    check_model: Callable[[PreTrainedModel, int], None]  # raises if max_length cannot work
    servable: bool  # its adapters can join the in-process serving benchmark
    # the val score checkpoints (and hyperparameters) are selected by; None: the task's primary
    selection_metric: str | None = None
    # (data, encoded rows per split) -> per split what the rows hold of it (documents and windows
    # scored, answers lost to the length), for the run's data record and the data stage
    summarize: Callable[[TaskData, dict[str, list]], dict[str, dict[str, int]]] | None = None
    # what encode/evaluate compute: above 1 it enters the cache key of the kind's training and
    # baseline stages, so a change in what they compute never reuses an older result
    version: int = 1
    # its tasks have classes: label words and prompts, inputs cut to max_length, a prompt head
    labelled: bool = False
    # a 4-bit (QLoRA) base can be built for its model (loralens.models builds classifiers)
    quantizable: bool = False
    # its model is the causal LM itself (False: a head on the LM's backbone, e.g. a classifier)
    causal_lm: bool = True
    # the baselines it offers, by name, in the order they are reported
    baselines: Mapping[str, BaselineFn] = field(default_factory=dict)
    # the probe set's candidate inputs from its test split (None: each test example's input)
    probe_pool: Callable[[TaskData], list[str]] | None = None


def encoded_summary(kind: TaskKind, data: TaskData, rows: dict[str, list]) -> dict:
    """What the encoded rows hold of each split (empty for a kind that says nothing)."""
    return kind.summarize(data, rows) if kind.summarize is not None else {}


def _kinds() -> dict[str, TaskKind]:
    from loralens.kinds.classification import CLASSIFICATION
    from loralens.kinds.extractive_qa import EXTRACTIVE_QA
    from loralens.kinds.language_modeling import LANGUAGE_MODELING

    return {k.name: k for k in (CLASSIFICATION, LANGUAGE_MODELING, EXTRACTIVE_QA)}


def get_kind(name: str) -> TaskKind:
    """A registered task kind."""
    kinds = _kinds()
    if name not in kinds:
        raise ValueError(unknown_name_message("task kind", name, kinds))
    return kinds[name]


def kind_names() -> list[str]:
    """The registered task kinds."""
    return list(_kinds())


def selection_metric(primary_metric: str) -> str:
    """The val metric that selects checkpoints for a task with this primary metric: its kind's
    selection metric, else the primary metric itself."""
    from loralens.task_metrics import get_metric

    chosen = get_kind(get_metric(primary_metric).kind).selection_metric
    return chosen or primary_metric
