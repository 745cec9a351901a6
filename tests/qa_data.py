"""A tiny extractive QA task in the official SQuAD v2 JSON layout, for tests."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

COLOURS = ("red", "blue", "green", "yellow", "black")
QA_METRICS = [
    "squad_f1",
    "exact_match",
    "has_answer_f1",
    "has_answer_exact",
    "no_answer_f1",
    "no_answer_exact",
]


def squad_doc(n: int, offset: int = 0) -> dict:
    """n questions, every fourth unanswerable, one paragraph each, in SQuAD v2 JSON."""
    paragraphs = []
    for i in range(offset, offset + n):
        colour = COLOURS[i % len(COLOURS)]
        context = f"Box {i} is {colour}. It stands on shelf {i % 7}."
        if i % 4 == 3:
            qa = {"id": f"q{i}", "question": f"Who built box {i}?", "answers": []}
            qa["is_impossible"] = True
        else:
            start = context.index(colour)
            qa = {
                "id": f"q{i}",
                "question": f"What colour is box {i}?",
                "answers": [{"text": colour, "answer_start": start}],
            }
        paragraphs.append({"context": context, "qas": [qa]})
    return {"version": "v2.0", "data": [{"title": "boxes", "paragraphs": paragraphs}]}


def write_qa_task(folder: Path, n_train: int = 60, n_test: int = 20, name: str = "boxes") -> Path:
    """A custom extractive_qa task YAML beside its train.json and dev.json; returns the YAML."""
    (folder / "train.json").write_text(json.dumps(squad_doc(n_train)))
    (folder / "dev.json").write_text(json.dumps(squad_doc(n_test, offset=1000)))
    spec = {
        "name": name,
        "kind": "extractive_qa",
        "text_fields": ["context", "question"],
        "metrics": QA_METRICS,
        "primary_metric": "squad_f1",
        "source": {"kind": "file", "file": "train.json", "test_file": "dev.json"},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path
