"""Shared fixtures: the GLUE files beside the repository, a tiny random Llama, CLI runners."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import traceback
import warnings
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from subprocess import CompletedProcess

import pytest

REPO = Path(__file__).resolve().parents[1]
GLUE_DIR = REPO.parent / "shared" / "data" / "glue"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    """The real GLUE TSV files (present in development and CI, never needed by the product)."""
    if not (GLUE_DIR / "MRPC" / "dev.tsv").is_file():
        pytest.skip(f"GLUE test data not found at {GLUE_DIR}")
    return GLUE_DIR


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama (2 layers, hidden 64) with SmolLM2's tokenizer, saved as an HF folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from loralens.models.load import load_tokenizer

    tok = load_tokenizer("smollm2-135m")
    torch.manual_seed(0)
    config = LlamaConfig(
        num_hidden_layers=2,
        hidden_size=64,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tok),
        max_position_embeddings=256,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def run_cli(*args: str, cwd: Path | None = None, process: bool = False) -> CompletedProcess:
    """Run the real `loralens` command: its `main` in this process, as `python -m loralens` calls
    it, or in a subprocess where a test needs a process of its own (`process=True`)."""
    if process:
        return subprocess.run(
            [sys.executable, "-m", "loralens", *args],
            capture_output=True,
            text=True,
            cwd=cwd or REPO,
            timeout=1800,
        )
    return _run_in_process(list(args), cwd or REPO)


def _run_in_process(args: list[str], cwd: Path) -> CompletedProcess:
    """`loralens.cli.main(args)` in `cwd`, with stdout, stderr, warnings and log records as a
    fresh process shows them; an uncaught exception is exit status 1 with its traceback."""
    from loralens.cli import main

    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)  # what Python's last-resort handler prints
    handler.setLevel(logging.WARNING)
    before = Path.cwd()
    logging.getLogger().addHandler(handler)
    try:
        os.chdir(cwd)
        with warnings.catch_warnings(), redirect_stdout(out), redirect_stderr(err):
            _fresh_process_warnings()
            code = _exit_status(main, args)
    finally:
        os.chdir(before)
        logging.getLogger().removeHandler(handler)
    return CompletedProcess(["loralens", *args], code, out.getvalue(), err.getvalue())


def _fresh_process_warnings() -> None:
    """Python's default warning filters, printed to (the redirected) stderr, not to pytest."""
    warnings.resetwarnings()
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", category)
    warnings.showwarning = _show_warning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    """Print a warning to sys.stderr as an interpreter does."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _exit_status(main: Callable[[list[str]], int], args: list[str]) -> int:
    """The exit status `sys.exit(main(args))` gives a process."""
    try:
        return main(args)
    except SystemExit as exc:  # argparse's usage errors, --help, --version
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        return 1


def run_cli_json(*args: str) -> dict:
    """Run the CLI with --json and parse its stdout, failing with its stderr if it errs."""
    proc = run_cli(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def mixed_length_texts() -> list[str]:
    """Short review-like texts of very different token lengths, for length-sorted batching."""
    return [
        "a long review that goes on and on about the film and its many, many flaws",
        "fine",
        "a warm and funny film",
        "dull",
        "the best thing I have seen in a cinema for years, and I have seen a lot of films",
        "meh, it was ok",
    ]


def run_metrics(**fields: object):
    """A complete metrics record of a finished run (fields override the defaults)."""
    from loralens.training.folder import RunMetrics

    defaults = {
        "task": "rotten_tomatoes",
        "method": "lora",
        "seed": 0,
        "test": {"accuracy": 0.5},
        "val_best": 0.5,
        "selected_step": 1,
        "steps": 1,
        "trainable_params": 1,
        "total_params": 2,
        "trainable_share": 0.5,
        "train_runtime_s": 1.0,
        "wall_time_s": 1.0,
        "train_tokens_per_s": 1.0,
        "peak_rss_mb": 1.0,
        "peak_rss_scope": "run",
        "peak_gpu_mb": None,
        "device": "cpu",
    }
    return RunMetrics(**{**defaults, **fields})


def tiny_serving(engines: list[str], repeats: int) -> dict:
    """The serving section of a test study: one small grid on a tiny model."""
    return {
        "engines": engines,
        "batch_sizes": [2],
        "num_adapters": [2],
        "orders": ["round_robin"],
        "sampling": [False],
        "prompt_length": 8,
        "output_length": 2,
        "warmup": 0,
        "repeats": repeats,
        "generation_batch_size": 2,
    }
