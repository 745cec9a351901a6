"""The task data a training run reads: its inputs through the head's prompt, fitted to length.

With `model.head: prompt` (a decoder, a classification task that declares prompts) every model
of the run reads each input through the task's prompt `task.prompt` — the same string the
zero-shot baseline scores — and its score head starts from the LM head's rows of the prompt's
label words, so step 0 is the zero-shot decision. Otherwise the plain input and a fresh head.
Every classification example is then cut to `model.max_length` by its fields (`data.fit`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from loralens.data import TaskData, load_task_from_config
from loralens.data.spec import Prompt, TaskSpec
from loralens.errors import ConfigError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from loralens.config import RunConfig

SPLIT_NAMES = ("train", "val", "test")


def head_prompt(cfg: RunConfig, spec: TaskSpec) -> Prompt | None:
    """The prompt a prompt head reads for this run, or None when the head is fresh."""
    from loralens.models.registry import model_kind

    if cfg.model.head != "prompt" or spec.kind != "classification" or not spec.prompts:
        return None
    if model_kind(cfg.model.name) != "decoder":
        return None
    if cfg.task.prompt >= len(spec.prompts):
        raise ConfigError(
            f"task.prompt = {cfg.task.prompt}: task {spec.name} declares {len(spec.prompts)} "
            f"prompt(s); allowed: 0..{len(spec.prompts) - 1}"
        )
    return spec.prompts[cfg.task.prompt]


def read_through(spec: TaskSpec, prompt: Prompt | None) -> TaskSpec:
    """The spec whose formatted input is the prompt (unchanged without one)."""
    return spec if prompt is None else spec.model_copy(update={"input_template": prompt.template})


def fitted(data: TaskData, tok: PreTrainedTokenizerBase, max_length: int) -> TaskData:
    """Every split's examples cut to `max_length` tokens by their fields, with the counts."""
    from loralens.data.fit import fit_examples

    splits, cut = data.splits, {}
    for name in SPLIT_NAMES:
        examples, counts = fit_examples(data.spec, tok, getattr(splits, name), max_length)
        splits = dataclasses.replace(splits, **{name: examples})
        cut[name] = dataclasses.asdict(counts)
    return dataclasses.replace(data, splits=splits, cut=cut)


def load_run_task(cfg: RunConfig, tok: PreTrainedTokenizerBase | None = None) -> TaskData:
    """The task of `cfg` as its runs read it: prompted (prompt head) and fitted to length."""
    data = load_task_from_config(cfg.task)
    if data.spec.kind != "classification":
        return data  # language modelling and QA window their own inputs
    prompt = head_prompt(cfg, data.spec)
    data = dataclasses.replace(data, spec=read_through(data.spec, prompt), prompt=prompt)
    if tok is None:
        from loralens.models.load import load_tokenizer

        tok = load_tokenizer(cfg.model.name)
    return fitted(data, tok, cfg.model.max_length)
