"""Config: validation errors name the key, the value and what is allowed; overrides; configs."""

import re
from pathlib import Path

import pytest

from loralens.config import (
    RunConfig,
    config_to_yaml,
    load_config,
    parse_overrides,
    variant_config,
)
from loralens.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("training.lr=1", ["unknown config key 'training.lr'", "training.learning_rate"]),
        ("tsk.name=x", ["unknown config key 'tsk'", "did you mean 'task'"]),
        ("training.learning_rate=-1", ["'training.learning_rate'", "got -1", "greater than 0"]),
        ("training.batch_size=abc", ["'training.batch_size'", "'abc'", "valid integer"]),
        ("lora.rank=0", ["'lora.rank'", "got 0", "greater than or equal to 1"]),
        ("lora.dropout=1.5", ["'lora.dropout'", "1.5", "less than 1"]),
        ("method=lorra", ["'method'", "did you mean 'lora'"]),
        ("lora.targets=qq", ["'lora.targets'", "qv, qkvo, all-linear"]),
        ("training.scheduler=step", ["'training.scheduler'", "'linear'"]),
        ("training.max_steps=0", ["'training.max_steps'", "positive number"]),
        ("adalora.target_r=20", ["target_r (20) must not exceed init_r (12)"]),
        ("study.methods=[full,nope]", ["unknown method 'nope'"]),
        ("probing.max_examples=5000", ["'probing.max_examples'", "1000"]),
        ("probing.pooling=max", ["'probing.pooling'", "allowed: mean_nosink, mean, last"]),
        ("study.compare=[[lora,nope]]", ["'nope' is not in study.methods (full, lora)"]),
        ("study.compare=[[lora,lora]]", ["'lora' is compared with itself"]),
        ("study.compare=[[lora]]", ["is not a [treatment, reference] pair"]),
        (
            "serving.vllm.env={LD_PRELOAD: x.so}",
            ["cannot set LD_PRELOAD for the server", "allowed: VLLM_*, OMP_*, KMP_*"],
        ),
        ("probing.sink_tokens=-1", ["'probing.sink_tokens'", "greater than or equal to 0"]),
        ("report.margins={nope: 0.1}", ["'report.margins'", "unknown metric 'nope'", "nll"]),
        ("report.margins={accuracy: 3}", ["accuracy: the margin must be >= 0 and 1", "3 points"]),
        ("report.margins={nll: -1}", ["nll: the margin must be >= 0 and finite"]),
    ],
)
def test_bad_values_name_key_value_and_allowed(override: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    for fragment in fragments:
        assert fragment in str(info.value)


def test_overrides_are_typed_and_nested() -> None:
    cfg = load_config(None, ["training.learning_rate=1e-4", "lora.targets=[q_proj,v_proj]"])
    assert cfg.training.learning_rate == pytest.approx(1e-4)
    assert cfg.lora.targets == ["q_proj", "v_proj"]
    assert parse_overrides(["a.b.c=3", "a.d=x"]) == {"a": {"b": {"c": 3}, "d": "x"}}


@pytest.mark.parametrize("bad", ["novalue", "=3", "a..b=1"])
def test_malformed_override(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"key\.sub=value"):
        parse_overrides([bad])


@pytest.mark.parametrize("bad", ["lora.targets=[q_proj,v_proj", "lora.targets={a", "a=b: c: d"])
def test_an_override_whose_value_is_not_yaml_is_one_clear_error(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"the value is not valid YAML .*a list like \[a, b\]"):
        parse_overrides([bad])


@pytest.mark.parametrize("name", ["quickstart", "paper", "glue-cpu", "generative-cpu"])
def test_shipped_configs_validate(name: str) -> None:
    cfg = load_config(CONFIGS / f"{name}.yaml")
    for variant in cfg.study.methods:
        assert variant_config(cfg, variant).method in ("full", "lora", "adalora", "qlora")


def test_paper_config_is_the_published_design() -> None:
    cfg = load_config(CONFIGS / "paper.yaml")
    assert cfg.model.name.startswith("TinyLlama/TinyLlama-1.1B")
    assert cfg.study.tasks == ["mrpc", "sst2", "rte"]
    assert cfg.study.seeds == [42, 1337, 2024]
    assert cfg.device == "cuda"


def test_variant_overrides_apply_and_bad_variant_is_rejected(tmp_path: Path) -> None:
    cfg = load_config(CONFIGS / "quickstart.yaml")
    full = variant_config(cfg, "full-ft")
    assert full.method == "full" and full.training.learning_rate == pytest.approx(5.62e-5)
    assert full.training.learning_rate != cfg.training.learning_rate  # the variant overrides
    bad = tmp_path / "bad.yaml"
    bad.write_text("study:\n  methods: [x]\n  variants:\n    x: {method: lora, lora: {rank: -2}}\n")
    with pytest.raises(ConfigError, match=r"lora\.rank"):
        load_config(bad)


def test_yaml_round_trip(tmp_path: Path) -> None:
    cfg = load_config(CONFIGS / "quickstart.yaml", ["task.data_dir=/x"])
    path = tmp_path / "resolved.yaml"
    path.write_text(config_to_yaml(cfg))
    assert load_config(path) == cfg


def test_missing_and_non_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(listy)


def test_defaults_are_valid() -> None:
    assert RunConfig().method == "lora"


def test_error_names_the_overrides_not_only_the_file() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(CONFIGS / "quickstart.yaml", ["training.learning_rate=-1"])
    assert "quickstart.yaml with overrides training.learning_rate=-1:" in str(info.value)


def test_invalid_yaml_is_one_line_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("a: 1\n  b: 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "\n" not in msg and "not valid YAML at line 2, column 4" in msg


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("study.seeds=[1, 1]", "'study.seeds': got [1, 1]; lists 1 more than once"),
        ("study.methods=[lora, lora]", "lists lora more than once"),
        ("training.epochs=.inf", "'training.epochs': got inf; Input should be a finite number"),
        ("training.epochs=20000", "less than or equal to 10000"),
    ],
)
def test_repeated_study_entries_and_endless_training_are_refused(
    override: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(None, [override])


def test_a_study_name_becomes_one_safe_folder_name() -> None:
    from loralens.study.cli import safe_folder_name

    assert safe_folder_name("quickstart") == "quickstart"
    assert safe_folder_name("../../etc") == "etc"
    assert safe_folder_name("a/b c") == "a-b-c"
    assert safe_folder_name("..") == "study"


def test_an_error_in_a_large_section_names_it_without_dumping_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(CONFIGS / "quickstart.yaml", ["study.methods=[full-ft, lora-r9]"])
    msg = str(info.value)
    assert "'study': unknown method 'lora-r9'; did you mean 'lora-r8'?" in msg
    assert "'seeds'" not in msg  # the section's other keys are not repeated


def test_tuned_learning_rates_need_one_space_for_every_variant() -> None:
    space = "{learning_rate: {low: 1.0e-5, high: 1.0e-3, log: true}}"
    two = ["study.methods=[full, lora]", "study.learning_rates=tuned"]
    ok = load_config(None, [*two, f"hpo.space={{full: {space}, lora: {space}}}"])
    assert ok.study.learning_rates == "tuned"
    other = "{learning_rate: {low: 1.0e-4, high: 1.0e-2, log: true}}"
    with pytest.raises(ConfigError, match=r"same hpo\.space"):
        load_config(None, [*two, f"hpo.space={{full: {space}, lora: {other}}}"])
    with pytest.raises(ConfigError, match=r"same hpo\.space"):
        load_config(None, [*two, f"hpo.space={{full: {space}}}"])


@pytest.mark.parametrize("name", ["../../tmp/X", "a/b", ".hidden", "", "x" * 101, "sp ace"])
def test_a_variant_name_that_is_not_one_path_component_is_refused(name: str) -> None:
    """A variant names folders and files (hpo wrote `../../tmp/X-trials` outside --out)."""
    with pytest.raises(ConfigError, match="not a plain name"):
        load_config(None, [f"study.methods=['{name}']", f"study.variants={{'{name}': {{}}}}"])
    ok = load_config(
        None, ["study.methods=[lora-r8_v1.2+qv]", "study.variants={lora-r8_v1.2+qv: {}}"]
    )
    assert ok.study.methods == ["lora-r8_v1.2+qv"]
