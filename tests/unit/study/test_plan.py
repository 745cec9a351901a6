"""Study expansion: the DAG, content keys, and what changes them."""

import pytest

from loralens.config import load_config
from loralens.study.plan import content_key, plan_study


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
        "serve",
        "analysis",
    ):
        assert sid in ids
    position = {sid: i for i, sid in enumerate(ids)}
    for s in stages:  # dependency order
        assert all(position[d] < position[s.id] for d in s.deps)
    serve = next(s for s in stages if s.id == "serve")
    assert all("/lora/" in d for d in serve.deps)  # adapters only from LoRA runs


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
    assert "serve" not in _ids(plan_study(load_config(None, serving)))
