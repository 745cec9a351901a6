"""CLI helpers: config names and run directories are checked with one clear message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loralens.cli_args import BUILTIN_CONFIGS, check_names, config_path, training_run_dirs
from loralens.config import load_config
from loralens.errors import ConfigError, LoralensError


def test_builtin_config_names_resolve() -> None:
    assert config_path("quickstart") == BUILTIN_CONFIGS / "quickstart.yaml"
    assert config_path(None) is None


def test_unknown_builtin_config_suggests_and_lists_the_builtins() -> None:
    with pytest.raises(ConfigError) as info:
        config_path("quickstrat")
    msg = str(info.value)
    assert "unknown config 'quickstrat'; did you mean 'quickstart'?" in msg
    assert "glue-cpu, paper, quickstart" in msg and "YAML file" in msg


def test_a_yaml_path_is_returned_for_load_config_to_report() -> None:
    assert config_path("missing.yaml") == Path("missing.yaml")


def _train_run(folder: Path, finished: bool = True) -> Path:
    folder.mkdir()
    (folder / "config.yaml").write_text("{}")
    if finished:
        (folder / "metrics.json").write_text("{}")
    return folder


def test_training_run_dirs_accepts_runs(tmp_path: Path) -> None:
    run = _train_run(tmp_path / "run")
    assert training_run_dirs([str(run)]) == [run]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "no such directory"),
        (lambda d: (d.mkdir(), (d / "plan.json").write_text("{}")), "artifacts/train-*"),
        (lambda d: d.mkdir(), "not a training run (no config.yaml)"),
        (lambda d: _train_run(d, finished=False), "training has not finished"),
    ],
)
def test_training_run_dirs_names_what_is_wrong(tmp_path: Path, setup, message: str) -> None:
    good = _train_run(tmp_path / "good")
    bad = tmp_path / "bad"
    setup(bad)
    with pytest.raises(LoralensError, match=re.escape(message)):
        training_run_dirs([str(good), str(bad)])


def test_unfinished_runs_are_allowed_when_asked(tmp_path: Path) -> None:
    run = _train_run(tmp_path / "run", finished=False)
    assert training_run_dirs([str(run)], finished=False) == [run]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task.name=roten_tomatoes", "did you mean 'rotten_tomatoes'"),
        ("study.tasks=[rotten_tomatoes,mrcp]", "did you mean 'mrpc'"),
        ("model.name=smolm2-135m", "did you mean 'smollm2-135m'"),
        ("study.variants.lora-r8.model.name=./nope", "unknown model './nope'"),
        ("study.encoder_model=minilm", "did you mean 'minilm-l6'"),
    ],
)
def test_check_names_rejects_unknown_tasks_and_models(override: str, message: str) -> None:
    config = load_config(config_path("quickstart"), [override])
    with pytest.raises(LoralensError, match=re.escape(message)):
        check_names(config)


def test_check_names_accepts_builtins_hub_ids_and_folders(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    for name in ("quickstart", "paper", "glue-cpu"):
        check_names(load_config(config_path(name)))
    check_names(load_config(config_path("quickstart"), [f"model.name={tmp_path}"]))


def test_main_silences_the_bitsandbytes_kernel_notice(capsys: pytest.CaptureFixture) -> None:
    import logging

    from loralens.cli import main

    assert main(["tasks", "--json"]) == 0
    capsys.readouterr()
    assert logging.getLogger("bitsandbytes.backends.cpu.ops").level == logging.ERROR


def test_status_table_names_the_log_of_a_failed_stage() -> None:
    from loralens.cli_study import _failure

    assert _failure({"state": "done"}) == ""
    failed = {"state": "failed", "error": "boom", "log": "logs/train.log"}
    assert _failure(failed) == "boom (log: logs/train.log)"


def test_drift_values_print_without_negative_zero() -> None:
    from loralens.cli_measure import _fixed4

    assert _fixed4(-2.2e-16) == "0.0000"
    assert _fixed4(0.01234) == "0.0123" and _fixed4(-0.5) == "-0.5000"


def test_drift_refuses_two_runs_whose_tables_would_share_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from loralens.cli import main

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    runs = [_train_run(tmp_path / d / "lora", finished=False) for d in ("a", "b")]
    out = tmp_path / "tables"
    assert main(["drift", *map(str, runs), "--out", str(out)]) == 2
    assert "several runs named 'lora'" in capsys.readouterr().err
    assert not out.exists()


def test_config_without_a_name_shows_the_quickstart_that_train_would_use(
    capsys: pytest.CaptureFixture,
) -> None:
    import yaml

    from loralens.cli import main

    assert main(["config", "lora.rank=4"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["name"] == "quickstart" and shown["lora"]["rank"] == 4


def test_top_level_help_describes_the_tool_not_the_module() -> None:
    from loralens.cli import build_parser

    text = build_parser().format_help()
    assert "LoRA against full fine-tuning" in text and "calls one function" not in text


def test_dominated_layers_print_as_ranges() -> None:
    from loralens.cli_measure import _layer_ranges

    assert _layer_ranges([3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 29]) == "3-9, 12-14, 29"
    assert _layer_ranges([]) == "-"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sanity", "--steps", "0"], "argument --steps: must be an integer ≥ 1, got 0"),
        (["run", "--workers", "0"], "argument --workers: must be an integer ≥ 1, got 0"),
        (["drift", "x", "--permutations", "-1"], "--permutations: must be an integer ≥ 1, got -1"),
        (
            ["probe", "m", "--out", "o", "--max-examples", "0"],
            "--max-examples: must be an integer ≥ 5",
        ),
        (
            ["probe", "m", "--out", "o", "--max-length", "-5"],
            "--max-length: must be an integer ≥ 8",
        ),
        (
            ["probe", "m", "--out", "o", "--sink-tokens", "x"],
            "--sink-tokens: must be an integer ≥ 0, got 'x'",
        ),
        (["bench", "cka", "--threads", "-1"], "argument --threads: must be an integer ≥ 1, got -1"),
        (["bench", "cka", "--repeats", "0"], "argument --repeats: must be an integer ≥ 1, got 0"),
    ],
)
def test_a_count_out_of_range_is_refused_before_any_work(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from loralens.cli import main

    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


def test_an_output_path_that_cannot_be_written_is_named_before_any_work(tmp_path: Path) -> None:
    from loralens.cli_args import writable_out

    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(LoralensError, match=r"afile is a file, not a folder"):
        writable_out(blocker / "deeper" / "run")
    with pytest.raises(LoralensError, match=r"a file is there; give a folder"):
        writable_out(blocker)
    with pytest.raises(LoralensError, match=r"a folder is there; give a file"):
        writable_out(tmp_path, folder=False)
    assert writable_out(tmp_path / "new" / "run") == tmp_path / "new" / "run"  # made later
    assert writable_out(tmp_path / "x.safetensors", folder=False) == tmp_path / "x.safetensors"


def test_probe_refuses_an_unwritable_out_before_loading_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from loralens.cli import main

    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "x.safetensors"
    assert main(["probe", "no-such-model", "--out", str(out)]) == 2  # the model is not looked up
    assert "afile is a file, not a folder" in capsys.readouterr().err


def test_data_stats_counts_the_inputs_cut_to_max_length(glue_dir, capsys) -> None:
    """RTE through its first prompt: long premises are cut at 128 tokens, no field is lost;
    at 64 more are cut. In process (`cli.main`)."""
    import json

    from loralens.cli import main

    counts = {}
    for length in (64, 128):
        argv = ["data", "stats", "rte", "--data-dir", str(glue_dir), "--prompt", "0", "--json"]
        assert main([*argv, "--max-length", str(length)]) == 0
        counts[length] = json.loads(capsys.readouterr().out)["cut"]["test"]
    assert counts[128]["examples"] == 277 and 0 < counts[128]["cut"] < counts[64]["cut"]
    assert counts[128]["emptied"] == 0
    assert main(["data", "stats", "rte", "--data-dir", str(glue_dir), "--prompt", "7"]) == 2
    assert "allowed: 0..2" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "quickstart", "training.max_steps=3", "--out", "x"],
        ["run", "quickstart", "--out", "x", "training.max_steps=3"],
        ["run", "--out", "x", "quickstart", "training.max_steps=3"],
        ["run", "--workers", "1", "quickstart", "--out", "x", "training.max_steps=3"],
    ],
)
def test_config_and_overrides_are_taken_anywhere_on_the_line(argv: list[str]) -> None:
    from loralens.cli import build_parser
    from loralens.cli_args import parse_command_line

    args = parse_command_line(build_parser(), argv)
    assert args.items == ["quickstart", "training.max_steps=3"] and args.out == "x"


def test_an_override_after_a_list_option_is_an_override_not_a_list_item() -> None:
    from loralens.cli import build_parser
    from loralens.cli_args import parse_command_line

    argv = ["bench", "serve", "--adapters", "runs/a", "runs/b=1", "serving.repeats=6"]
    args = parse_command_line(build_parser(), argv)
    assert args.adapters == ["runs/a", "runs/b=1"] and args.items == ["serving.repeats=6"]


def test_an_unknown_flag_or_an_item_a_command_does_not_take_is_refused(capsys) -> None:
    from loralens.cli import build_parser
    from loralens.cli_args import parse_command_line

    for argv in (["run", "--out", "x", "--nope"], ["status", "x", "a=b"]):
        with pytest.raises(SystemExit) as info:
            parse_command_line(build_parser(), argv)
        assert info.value.code == 2
        assert "unrecognized arguments" in capsys.readouterr().err


def test_version_prints_the_package_version(capsys) -> None:
    from loralens import __version__
    from loralens.cli import main

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out == f"loralens {__version__}\n"
