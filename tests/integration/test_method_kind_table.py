"""Every registered method on every registered task kind (PEFT's TEST_CASES pattern), through
the real CLI on a tiny random Llama: a few training steps, the run's drift over its snapshots,
the ΔW spectrum of its update and, where the method and the kind serve, its adapter served beside
merged weights. A method or kind registered later joins the table without an edit here."""

import json
from pathlib import Path

import pytest

from loralens.kinds import get_kind, kind_names
from loralens.methods import METHODS
from tests.conftest import run_cli, run_cli_json
from tests.integration.test_generative_cli import write_lm_task
from tests.qa_data import write_qa_task

pytestmark = pytest.mark.integration

STEPS = 4
# Each method's settings for a run of STEPS steps (AdaLoRA prunes between tinit and tfinal).
METHOD_SETTINGS = {
    "lora": ["lora.rank=4"],
    "dora": ["lora.rank=4"],
    "qlora": ["lora.rank=4"],
    "adalora": ["adalora.init_r=4", "adalora.target_r=2", "adalora.tinit=1", "adalora.tfinal=1"],
}
# A kind's inputs need room: a QA prompt holds its question and a window of its context.
KIND_SETTINGS = {"extractive_qa": ["model.max_length=96"]}
# A 4-bit base where the kind has none (TaskKind.quantizable) is refused before any work.
REFUSED = {
    (m, k): "model.quantization"
    for m, method in METHODS.items()
    if method.quantized_base
    for k in kind_names()
    if not get_kind(k).quantizable
}
BUDGET = [
    "task.max_train=24",
    "task.max_val=8",
    "task.max_test=12",
    "model.max_length=32",
    "model.head=fresh",
    "training.batch_size=8",
    "training.eval_batch_size=16",
    f"training.max_steps={STEPS}",
    "training.eval_steps=1",
    "training.warmup_ratio=0",  # a first step at learning rate 0 would leave ΔW = 0
    "training.learning_rate=1e-2",
    "probing.max_examples=8",
    "probing.snapshot_every=1",
]


@pytest.fixture(scope="module")
def tasks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A task of each registered kind, by kind."""
    folder = tmp_path_factory.mktemp("kinds")
    (folder / "qa").mkdir()
    made = {
        "classification": "rotten_tomatoes",
        "language_modeling": str(write_lm_task(folder, "river", 0)),
        "extractive_qa": str(write_qa_task(folder / "qa", n_train=24, n_test=12)),
    }
    assert set(made) == set(kind_names()), "a new task kind needs a task in this table"
    return made


@pytest.mark.parametrize("kind", kind_names())
@pytest.mark.parametrize("method", sorted(METHODS))
def test_a_method_trains_drifts_has_a_spectrum_and_serves_on_a_kind(
    method: str, kind: str, tasks: dict[str, str], tiny_llama_dir: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    settings = [f"method={method}", f"task.name={tasks[kind]}", *METHOD_SETTINGS.get(method, [])]
    settings += KIND_SETTINGS.get(kind, [])
    model = f"model.name={tiny_llama_dir}"
    proc = run_cli("train", "quickstart", model, *BUDGET, *settings, "--out", str(run))
    if (method, kind) in REFUSED:
        assert proc.returncode == 2 and REFUSED[method, kind] in proc.stderr, proc.stderr
        assert not (run / "metrics.json").exists()
        return
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["method"] == method and metrics["steps"] == STEPS
    assert metrics["test"], "no test score"

    (drift,) = run_cli_json("drift", str(run), "--permutations", "5")
    last = [s for s in drift["summary"] if s["step"] == STEPS]
    assert last and all(s["layers"] >= 2 and s["mean_drift"] > 0 for s in last), drift["summary"]

    (spectrum,) = run_cli_json("sparsity", str(run))
    assert spectrum["rows"], "no module's update"
    assert any(r["effective_rank"] > 0 for r in spectrum["rows"]), "ΔW = 0 after training"

    if not (METHODS[method].servable and get_kind(kind).servable):
        return
    engine = "merged,unmerged" if method == "dora" else "merged,fused"  # DoRA: engines serving it
    tiny = ["serving.batch_sizes=[2]", "serving.num_adapters=[1]", "serving.repeats=6"]
    tiny += ["serving.prompt_length=8", "serving.output_length=2", "serving.generate_repeats=1"]
    served = run_cli_json(
        "bench", "serve", model, "--engines", engine, "--adapters", str(run), *tiny
    )
    assert served["rows"] and not served["failed"], served["failed"]
