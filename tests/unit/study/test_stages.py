"""Stage functions on their planned params: the data stage counts what models read."""

from __future__ import annotations

import json
from pathlib import Path

from loralens.config import load_config
from loralens.study.plan import plan_study
from loralens.study.stages import stage_data


def _data_stats(tmp_path: Path, *overrides: str) -> dict:
    cfg = load_config(None, ["study.baselines=[]", "serving.engines=[]", *overrides])
    (stage,) = [s for s in plan_study(cfg) if s.kind == "data"]
    out = tmp_path / "-".join(overrides or ("default",))
    out.mkdir()
    stage_data(stage.params, {}, out)
    return json.loads((out / "stats.json").read_text())


def test_the_data_stage_measures_the_input_the_models_read(tmp_path: Path) -> None:
    prompt = _data_stats(tmp_path, "model.max_length=40")
    plain = _data_stats(tmp_path, "model.max_length=40", "model.head=fresh")
    assert (prompt["input"], plain["input"]) == ("prompt", "plain")
    # "Review: ...\nSentiment:" adds tokens to every input, so more are cut at the same length
    p50 = [s["splits"]["test"]["token_length"]["p50"] for s in (prompt, plain)]
    assert p50[0] > p50[1]
    assert prompt["cut"]["test"]["cut"] > plain["cut"]["test"]["cut"] > 0
    assert prompt["max_length"] == 40 and prompt["cut"]["test"]["emptied"] == 0
