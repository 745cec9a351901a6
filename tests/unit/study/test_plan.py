"""Study expansion: the DAG, content keys, and what changes them."""

import shutil
from pathlib import Path

import pytest
import yaml

from loralens.cli_args import BUILTIN_CONFIGS
from loralens.config import load_config
from loralens.errors import ConfigError
from loralens.study.plan import content_key, plan_study, with_missing
from loralens.study.stages import stage_kind
from tests.unit.study._fake_study import patch_kind


def _ids(stages) -> list[str]:
    return [s.id for s in stages]


def test_quickstart_expands_into_every_stage() -> None:
    stages = plan_study(load_config(None, ["study.methods=[full, lora]", "study.seeds=[1, 2]"]))
    ids = _ids(stages)
    for sid in (
        "data/rotten_tomatoes",
        "control/rotten_tomatoes",
        "baselines/rotten_tomatoes",
        "train/rotten_tomatoes/full/1",
        "train/rotten_tomatoes/lora/2",
        "drift/rotten_tomatoes/lora/1",
        "sparsity/rotten_tomatoes/full/2",
        "encoder/rotten_tomatoes/1",
        "serve/2-labels",
        "analysis",
    ):
        assert sid in ids
    position = {sid: i for i, sid in enumerate(ids)}
    for s in stages:  # dependency order
        assert all(position[d] < position[s.id] for d in s.deps)
    for s in stages:  # a run may copy its step-0 snapshot from its task's base snapshot
        assert (s.deps == ("control/rotten_tomatoes",)) == s.id.startswith("train/")
    serve = next(s for s in stages if s.id == "serve/2-labels")
    assert all("/lora/" in d for d in serve.deps)  # adapters only from LoRA runs
    assert [r["stage"] for r in serve.params["group"]["runs"]] == list(serve.deps)


def test_keys_change_with_the_config_slice_and_upstream() -> None:
    base = {s.id: s.key for s in plan_study(load_config())}
    lr = {s.id: s.key for s in plan_study(load_config(None, ["training.learning_rate=1e-3"]))}
    assert base["data/rotten_tomatoes"] == lr["data/rotten_tomatoes"]  # unaffected slice
    assert base["train/rotten_tomatoes/lora/42"] != lr["train/rotten_tomatoes/lora/42"]
    assert base["drift/rotten_tomatoes/lora/42"] != lr["drift/rotten_tomatoes/lora/42"]  # upstream
    assert base["analysis"] != lr["analysis"]
    assert plan_study(load_config()) == plan_study(load_config())  # deterministic


def test_content_key_depends_on_every_part() -> None:
    k = content_key("train", {"a": 1}, ["x"])
    assert k != content_key("drift", {"a": 1}, ["x"])
    assert k != content_key("train", {"a": 2}, ["x"])
    assert k != content_key("train", {"a": 1}, ["y"])
    assert k == content_key("train", {"a": 1}, ["x"])


def test_a_stage_kind_whose_computation_changed_gets_new_keys_and_only_it(monkeypatch) -> None:
    import hashlib
    import json

    import loralens

    # A kind at version 1 keeps the key it had before versions existed (caches stay valid).
    legacy = json.dumps(["train", {"a": 1}, ["x"], loralens.__version__], sort_keys=True)
    assert content_key("train", {"a": 1}, ["x"]) == hashlib.sha256(legacy.encode()).hexdigest()[:20]
    before = {k: content_key(k, {"a": 1}, ["x"]) for k in ("train", "sparsity")}
    sparsity = stage_kind("sparsity")
    patch_kind(monkeypatch, "sparsity", version=sparsity.version + 1)
    assert content_key("sparsity", {"a": 1}, ["x"]) != before["sparsity"]
    assert content_key("train", {"a": 1}, ["x"]) == before["train"]


def test_variants_and_seeds_multiply() -> None:
    cfg = load_config(
        None,
        [
            "study.methods=[full, lora, r4]",
            "study.seeds=[1, 2, 3]",
            "study.variants={r4: {method: lora, lora: {rank: 4}}}",
        ],
    )
    trains = [s for s in plan_study(cfg) if s.kind == "train" and s.id.startswith("train/")]
    assert len(trains) == 9
    r4 = next(s for s in trains if "/r4/" in s.id)
    assert r4.params["lora"]["rank"] == 4 and r4.params["training"]["seed"] in (1, 2, 3)


@pytest.mark.parametrize("serving", [["serving.engines=[]"], ["study.methods=[full]"]])
def test_no_serve_stage_without_engines_or_adapters(serving: list[str]) -> None:
    assert not [s for s in plan_study(load_config(None, serving)) if s.kind == "serve"]


def _custom_task(folder: Path, name: str, labels: list[str]) -> Path:
    """A custom task file (its data file need not exist to be planned)."""
    path = folder / f"{name}-file.yaml"
    spec = {
        "name": name,
        "text_fields": ["text"],
        "label_names": labels,
        "source": {"kind": "file", "file": "data.csv", "columns": {"text": "t", "label": "y"}},
    }
    path.write_text(yaml.safe_dump(spec))
    return path


def test_a_task_named_by_path_is_keyed_by_its_declared_name(tmp_path: Path) -> None:
    news = _custom_task(tmp_path, "news", ["a", "b", "c"])
    stages = plan_study(load_config(None, [f"study.tasks=[{news}]"]))
    ids = _ids(stages)
    for sid in ("data/news", "control/news", "train/news/lora/42", "drift/news/lora/42"):
        assert sid in ids
    assert not [i for i in ids if ".yaml" in i]
    train = next(s for s in stages if s.id == "train/news/lora/42")
    assert train.params["task"]["name"] == str(news)  # the file still loads the task
    assert next(s for s in stages if s.id == "analysis").params["tasks"] == ["news"]


def test_two_entries_declaring_one_name_are_refused(tmp_path: Path) -> None:
    a = _custom_task(tmp_path, "rotten_tomatoes", ["neg", "pos"])
    with pytest.raises(ConfigError, match="both declare the task name 'rotten_tomatoes'"):
        plan_study(load_config(None, [f"study.tasks=[rotten_tomatoes, {a}]"]))


def test_a_primary_metric_without_a_declared_margin_is_refused_before_work() -> None:
    # A 3-point margin means nothing in nats: a language-modelling task's margin is declared.
    shipped = BUILTIN_CONFIGS / "generative-cpu.yaml"
    cfg = load_config(shipped)
    cfg.report.margins = {}
    with pytest.raises(
        ConfigError,
        match=r"no margin for the primary metric 'nll' \(a "
        r"difference in nats, not a percentage\): declare report.margins.nll",
    ):
        plan_study(cfg)
    plan_study(load_config(shipped))  # the shipped config declares it


def test_adapters_are_served_in_groups_by_head_size(tmp_path: Path) -> None:
    three = _custom_task(tmp_path, "three", ["a", "b", "c"])
    two = _custom_task(tmp_path, "two", ["x", "y"])
    tasks = f"study.tasks=[rotten_tomatoes, {three}, {two}]"
    stages = {s.id: s for s in plan_study(load_config(None, [tasks, "study.seeds=[1]"]))}
    serve = {sid: s for sid, s in stages.items() if s.kind == "serve"}
    assert set(serve) == {"serve/2-labels", "serve/3-labels"}
    assert serve["serve/3-labels"].deps == ("train/three/lora/1",)
    assert serve["serve/3-labels"].params["serving"]["num_labels"] == 3
    assert serve["serve/2-labels"].params["group"]["tasks"] == ["rotten_tomatoes", "two"]
    assert stages["analysis"].tolerant and set(serve) <= set(stages["analysis"].deps)


def test_a_tolerant_stage_without_a_failed_input_gets_another_key() -> None:
    stages = plan_study(load_config())
    analysis = next(s for s in stages if s.id == "analysis")
    keys = {s.id: s.key for s in stages}
    degraded = with_missing(analysis, {"serve/2-labels": "failed: boom"}, keys)
    assert "serve/2-labels" not in degraded.deps and degraded.key != analysis.key
    assert degraded.params["missing"] == {"serve/2-labels": "failed: boom"}
    again = with_missing(analysis, {"serve/2-labels": "failed: boom"}, keys)
    assert again.key == degraded.key  # the same failure: the same (cached) degraded analysis


def test_editing_a_task_data_file_changes_exactly_the_keys_that_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LORALENS_CACHE", str(tmp_path / "cache"))
    news = _custom_task(tmp_path, "news", ["a", "b", "c"])
    data = tmp_path / "data.csv"
    data.write_text("t,y\nfirst,a\nsecond,b\n")
    tasks = [f"study.tasks=[rotten_tomatoes, {news}]", "study.seeds=[1]"]
    before = {s.id: s.key for s in plan_study(load_config(None, tasks))}
    assert before == {s.id: s.key for s in plan_study(load_config(None, tasks))}  # stable
    data.write_text("t,y\nfirst,b\nsecond,a\n")  # every label flipped, same size
    after = {s.id: s.key for s in plan_study(load_config(None, tasks))}
    changed = {sid for sid in before if before[sid] != after[sid]}
    reads_news = {sid for sid in before if "/news" in sid} | {"analysis", "serve/3-labels"}
    assert changed == reads_news  # news is the study's only 3-label task
    assert "train/news/lora/1" in changed and "drift/news/full/1" in changed


def test_a_local_model_folder_is_keyed_by_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LORALENS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights v1")
    overrides = [f"model.name={folder}", "study.seeds=[1]"]
    before = {s.id: s.key for s in plan_study(load_config(None, overrides))}
    (folder / "model.safetensors").write_bytes(b"weights v2")
    after = {s.id: s.key for s in plan_study(load_config(None, overrides))}
    assert before["train/rotten_tomatoes/lora/1"] != after["train/rotten_tomatoes/lora/1"]
    assert before["encoder/rotten_tomatoes/1"] == after["encoder/rotten_tomatoes/1"]  # MiniLM


def test_a_glue_folder_is_keyed_by_the_files_its_tasks_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, glue_dir: Path
) -> None:
    monkeypatch.setenv("LORALENS_CACHE", str(tmp_path / "cache"))
    for name in ("MRPC", "RTE"):
        shutil.copytree(glue_dir / name, tmp_path / "glue" / name)
    overrides = [f"task.data_dir={tmp_path / 'glue'}", "study.tasks=[mrpc, rte]", "study.seeds=[1]"]
    before = {s.id: s.key for s in plan_study(load_config(None, overrides))}
    dev = tmp_path / "glue" / "MRPC" / "dev.tsv"
    dev.write_text(dev.read_text().replace("\n1\t", "\n0\t", 1))  # one label of the test split
    after = {s.id: s.key for s in plan_study(load_config(None, overrides))}
    changed = {sid for sid in before if before[sid] != after[sid]}
    assert "train/mrpc/lora/1" in changed and "baselines/mrpc" in changed
    assert not {sid for sid in changed if "/rte" in sid}


def test_a_4bit_base_is_a_variant_setting_keyed_only_where_it_is_set() -> None:
    variants = (
        "study.variants={full: {method: full}, lora: {method: lora},"
        " lora-nf4: {method: lora, model: {quantization: nf4}}}"
    )
    cfg = load_config(None, [variants, "study.methods=[full, lora, lora-nf4]", "study.seeds=[1]"])
    stages = {s.id: s for s in plan_study(cfg)}
    nf4 = stages["train/rotten_tomatoes/lora-nf4/1"].params
    lora = stages["train/rotten_tomatoes/lora/1"].params
    assert nf4["model"]["quantization"] == "nf4"
    # Runs on an fp32 base keep the keys they had before the setting existed.
    assert (
        "quantization" not in lora["model"]
        and "quantization" not in stages["control/rotten_tomatoes"].params["model"]
    )
    assert {k: v for k, v in nf4.items() if k != "variant"} != {
        k: v for k, v in lora.items() if k != "variant"
    }
    assert "train/rotten_tomatoes/lora-nf4/1" in stages["serve/2-labels"].deps  # served as LoRA


def test_the_analysis_key_follows_the_results_schema_version(monkeypatch) -> None:
    # A results.json cached in an older schema is recomputed by `loralens run`, not reused:
    # the report refuses older schema versions and tells the user to rerun.
    from loralens.results.schema import SCHEMA_VERSION

    assert stage_kind("analysis").version == SCHEMA_VERSION
    before = content_key("analysis", {"a": 1}, ["x"])
    patch_kind(monkeypatch, "analysis", version=SCHEMA_VERSION + 1)
    assert content_key("analysis", {"a": 1}, ["x"]) != before


def test_a_task_kind_whose_evaluation_changed_rekeys_its_runs_only(monkeypatch) -> None:
    import dataclasses

    from loralens import kinds
    from loralens.study import plan

    assert plan._kind_version("language_modeling") == {"kind_version": 2}
    assert plan._kind_version("extractive_qa") == {"kind_version": 2}
    assert plan._kind_version("classification") == {}  # its keys stay as they were
    stages = plan_study(load_config())
    assert not any("kind_version" in s.params for s in stages)
    real = kinds._kinds()
    bumped = dataclasses.replace(real["classification"], version=2)
    monkeypatch.setattr(kinds, "_kinds", lambda: {**real, "classification": bumped})
    after = {s.id: s.key for s in plan_study(load_config())}
    before = {s.id: s.key for s in stages}
    for sid in ("train/rotten_tomatoes/lora/42", "baselines/rotten_tomatoes"):
        assert after[sid] != before[sid]
    assert after["data/rotten_tomatoes"] == before["data/rotten_tomatoes"]
