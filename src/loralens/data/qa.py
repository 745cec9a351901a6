"""Questions of an extractive QA task: a local SQuAD JSON/JSONL file or a hub dataset.

A question is one unit of the split: `Example(texts=(context, question), label=0)` carrying its
gold answers, their offsets and its id. Splits are not stratified (every question has label 0);
the budgets count questions. Source `file`: `file` is the training pool and `test_file` the
official dev set (test); source `hub` (`rajpurkar/squad_v2`): `train` and `validation` (test).
"""

from __future__ import annotations

from pathlib import Path

from loralens.data.sources import RawTask
from loralens.data.spec import Example, TaskSpec
from loralens.data.squad import QAExample, examples_from_rows, read_squad
from loralens.errors import DataError


def to_example(q: QAExample) -> Example:
    """A checked SQuAD question as a split example (label 0)."""
    return Example(
        texts=(q.context, q.question),
        label=0,
        answers=q.answers,
        answer_starts=q.answer_starts,
        id=q.id,
    )


def load_qa(spec: TaskSpec, data_dir: Path | None) -> RawTask:
    """The task's training pool and held-out questions from its source."""
    if spec.source.kind == "file":
        return _load_file(spec, data_dir)
    if spec.source.kind == "hub":
        return _load_hub(spec)
    raise DataError(
        f"task {spec.name}: an extractive_qa task loads from source kind 'file' or 'hub', "
        f"not '{spec.source.kind}'"
    )


def _load_file(spec: TaskSpec, data_dir: Path | None) -> RawTask:
    """SQuAD JSON or JSONL files (relative paths resolve against data_dir, else the cwd)."""
    if not spec.source.file:
        raise DataError(f"task {spec.name}: source kind 'file' needs source.file")
    base = Path(data_dir) if data_dir else Path.cwd()
    path = base / spec.source.file
    train = [to_example(q) for q in read_squad(path)]
    test = None
    if spec.source.test_file:
        test = [to_example(q) for q in read_squad(base / spec.source.test_file)]
    return RawTask(train, test, str(path))


def _load_hub(spec: TaskSpec) -> RawTask:
    """A hub dataset in the `rajpurkar/squad_v2` schema: `train` pool, `validation` as test."""
    import datasets  # heavy import, only when the hub is used

    path, name = spec.source.hub["path"], spec.source.hub.get("name")
    where = f"{path}/{name}" if name else path
    try:
        ds = datasets.load_dataset(path, name)
    except Exception as exc:  # the hub raises many types; all mean "could not load"
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise DataError(
            f"could not load {where} from the Hugging Face hub ({type(exc).__name__}: {first}); "
            "offline, declare a task with source kind 'file' and the SQuAD JSON files"
        ) from None
    train = [to_example(q) for q in examples_from_rows(ds["train"], f"{where}:train")]
    test = [to_example(q) for q in examples_from_rows(ds["validation"], f"{where}:validation")]
    return RawTask(train, test, where)
