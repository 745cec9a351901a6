"""Every training and LoRA setting in the config reaches what the Trainer and PEFT receive."""

import importlib.util
from pathlib import Path

import pytest
from transformers import AutoModelForSequenceClassification

from loralens.config import LoraConfig, TrainingConfig, load_config
from loralens.errors import ConfigError
from loralens.training.adapters import lora_config, resolve_targets
from loralens.training.setup import setup_tracker, tracker_env, training_arguments

# (override, TrainingArguments attribute, expected value)
CASES = [
    ("training.learning_rate=3e-5", "learning_rate", 3e-5),
    ("training.batch_size=7", "per_device_train_batch_size", 7),
    ("training.eval_batch_size=9", "per_device_eval_batch_size", 9),
    ("training.grad_accum=3", "gradient_accumulation_steps", 3),
    ("training.epochs=2.5", "num_train_epochs", 2.5),
    ("training.max_steps=17", "max_steps", 17),
    ("training.warmup_ratio=0.2", "warmup_steps", 0.2),
    ("training.weight_decay=0.01", "weight_decay", 0.01),
    ("training.scheduler=cosine", "lr_scheduler_type", "cosine"),
    ("training.max_grad_norm=0.3", "max_grad_norm", 0.3),
    ("training.eval_steps=13", "eval_steps", 13),
    ("training.eval_steps=13", "save_steps", 13),
    ("training.seed=7", "seed", 7),
    ("training.seed=7", "data_seed", 7),
    ("training.gradient_checkpointing=true", "activation_checkpointing", True),
    ("training.logging_steps=3", "logging_steps", 3),
    ("tracker=wandb", "report_to", ["wandb"]),
    ("name=myrun", "run_name", "myrun"),
]
# Settings applied elsewhere than TrainingArguments, each tested below.
APPLIED_ELSEWHERE = {"early_stopping_patience", "precision"}


def _args(*overrides: str, tmp: Path = Path("/tmp/x")):
    return training_arguments(load_config(None, list(overrides)), tmp, "cpu", "accuracy")


@pytest.mark.parametrize(("override", "attr", "expected"), CASES)
def test_each_setting_changes_what_the_trainer_receives(override, attr, expected) -> None:
    default, changed = getattr(_args(), attr), getattr(_args(override), attr)
    value = changed.value if hasattr(changed, "value") else changed
    assert value == pytest.approx(expected) if isinstance(expected, float) else value == expected
    assert changed != default


def test_every_training_setting_is_covered() -> None:
    covered = {c[0].split("=")[0].removeprefix("training.") for c in CASES}
    assert set(TrainingConfig.model_fields) <= covered | APPLIED_ELSEWHERE


def test_cpu_is_fp32_and_bf16_needs_cuda() -> None:
    args = _args()
    assert args.bf16 is False and args.use_cpu is True
    with pytest.raises(ConfigError, match="bf16 needs a CUDA device"):
        _args("training.precision=bf16")


def test_selection_is_on_val_with_the_primary_metric() -> None:
    args = training_arguments(load_config(), Path("/tmp/x"), "cpu", "f1")
    assert args.load_best_model_at_end and args.metric_for_best_model == "eval_f1"
    assert args.greater_is_better


@pytest.fixture(scope="module")
def tiny_model(tiny_llama_dir: Path):
    return AutoModelForSequenceClassification.from_pretrained(tiny_llama_dir, num_labels=2)


LORA_CASES = [
    ("lora.rank=4", "r", 4),
    ("lora.alpha=7", "lora_alpha", 7),
    ("lora.dropout=0.2", "lora_dropout", 0.2),
    ("lora.targets=qkvo", "target_modules", {"q_proj", "k_proj", "v_proj", "o_proj"}),
    ("lora.targets=[q_proj]", "target_modules", {"q_proj"}),
    ("lora.rank_pattern={k_proj: 2}", "rank_pattern", {"k_proj": 2}),
    ("lora.alpha_pattern={q_proj: 3}", "alpha_pattern", {"q_proj": 3}),
    ("lora.use_rslora=true", "use_rslora", True),
]


@pytest.mark.parametrize(("override", "attr", "expected"), LORA_CASES)
def test_each_lora_setting_reaches_peft(tiny_model, override, attr, expected) -> None:
    overrides = [override] + (["lora.targets=qkvo"] if "pattern" in override else [])
    peft_cfg = lora_config(load_config(None, overrides), tiny_model)
    value = getattr(peft_cfg, attr)
    assert (set(value) if isinstance(value, list | set) else value) == expected


def test_every_lora_setting_is_covered() -> None:
    covered = {c[0].split("=")[0].removeprefix("lora.") for c in LORA_CASES}
    assert set(LoraConfig.model_fields) == covered


def test_head_is_trainable_under_lora(tiny_model) -> None:
    assert "score" in lora_config(load_config(), tiny_model).modules_to_save


def test_presets_map_per_architecture(tiny_model) -> None:
    assert resolve_targets(tiny_model, "qv") == ["q_proj", "v_proj"]
    assert "down_proj" in resolve_targets(tiny_model, "all-linear")
    bert = AutoModelForSequenceClassification.from_pretrained(
        _minilm(), num_labels=2, local_files_only=True
    )
    assert resolve_targets(bert, "qv") == ["query", "value"]


def _minilm() -> Path:
    from loralens.models.registry import minilm_folder

    return minilm_folder()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["lora.targets=[query, value]"], "its linear modules are: down_proj, gate_proj"),
        (["lora.rank=100"], "exceeds min(d_in, d_out) = 64"),
        (["lora.rank_pattern={mlp: 4}"], "rank_pattern key 'mlp' matches no targeted module"),
    ],
)
def test_bad_lora_settings_stop_before_training(tiny_model, overrides, message) -> None:
    with pytest.raises(ConfigError) as info:
        lora_config(load_config(None, overrides), tiny_model)
    assert message in str(info.value)


def test_tracker_env_prefers_config_then_environment() -> None:
    off = load_config(None, [])
    assert tracker_env(off, {"WANDB_PROJECT": "p"}) == {}
    cfg = load_config(None, ["tracker=wandb", "wandb.mode=offline"])
    env = tracker_env(cfg, {"WANDB_PROJECT": "from-env", "WANDB_ENTITY": "lab"})
    assert env == {"WANDB_PROJECT": "from-env", "WANDB_ENTITY": "lab", "WANDB_MODE": "offline"}
    cfg = load_config(None, ["tracker=wandb", "wandb.project=mine"])
    assert tracker_env(cfg, {"WANDB_PROJECT": "from-env"}) == {"WANDB_PROJECT": "mine"}
    assert tracker_env(cfg, {})["WANDB_PROJECT"] == "mine"


def test_wandb_without_its_package_stops_with_the_install_hint(monkeypatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[wandb\]'"):
        setup_tracker(load_config(None, ["tracker=wandb"]))


def test_wandb_mode_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"wandb\.mode"):
        load_config(None, ["wandb.mode=sometimes"])


def test_building_a_lora_model_emits_no_transformers_deprecation_notice(
    tiny_llama_dir: Path,
) -> None:
    import warnings

    from loralens.training.setup import build_model

    cfg = load_config(None, [f"model.name={tiny_llama_dir}", "method=lora"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_model(cfg, 2, 10)
    assert not [w for w in caught if "is_gradient_checkpointing" in str(w.message)]
