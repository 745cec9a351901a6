"""Build what the HF Trainer receives from a RunConfig: model, arguments, datasets."""

from __future__ import annotations

import importlib.util
import math
import os
import warnings
from pathlib import Path

import torch
from peft import get_peft_model
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainingArguments, set_seed

from loralens.config import RunConfig
from loralens.errors import ConfigError
from loralens.methods import get_method
from loralens.models.heads import init_prompt_head
from loralens.models.registry import resolve_model
from loralens.task_metrics import get_metric
from loralens.training.adapters import peft_config
from loralens.training.quantized import load_qlora_base


def resolve_device(cfg: RunConfig) -> str:
    """'cuda' or 'cpu' from the config's device setting and what is available."""
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda was requested but no CUDA device is available")
    if cfg.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return cfg.device


def tracker_env(cfg: RunConfig, environ: dict[str, str]) -> dict[str, str]:
    """WANDB_* variables the Trainer's W&B callback reads: config first, then the environment."""
    if cfg.tracker != "wandb":
        return {}
    wanted = {
        "WANDB_PROJECT": cfg.wandb.project or environ.get("WANDB_PROJECT") or "loralens",
        "WANDB_ENTITY": cfg.wandb.entity or environ.get("WANDB_ENTITY"),
        "WANDB_MODE": cfg.wandb.mode or environ.get("WANDB_MODE"),
    }
    return {k: v for k, v in wanted.items() if v}


def setup_tracker(cfg: RunConfig) -> None:
    """Check the tracker can run and export its settings; raises before any work if not."""
    if cfg.tracker == "wandb" and importlib.util.find_spec("wandb") is None:
        raise ConfigError(
            "tracker: 'wandb' needs the wandb package (pip install -e '.[wandb]'); "
            "allowed without it: 'none'"
        )
    os.environ.update(tracker_env(cfg, dict(os.environ)))


def use_bf16(cfg: RunConfig, device: str) -> bool:
    """bf16 autocast (fp32 master weights) on a GPU that supports it; never on CPU."""
    if cfg.training.precision == "fp32" or device != "cuda":
        if cfg.training.precision == "bf16" and device != "cuda":
            raise ConfigError("training.precision: bf16 needs a CUDA device; use fp32 or auto")
        return False
    return torch.cuda.is_bf16_supported()


def build_model(
    cfg: RunConfig,
    num_labels: int,
    total_steps: int | None = None,
    kind: str = "classification",
    label_words: list[str] | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The model of the run's task kind and method, fp32 master weights (an NF4 base if
    quantized), seeded.

    `total_steps` (the run's optimizer steps, see `total_training_steps`) is needed by adalora.
    `label_words` (a prompt head, `TaskData.prompt.choices`): the head starts from the LM head's
    rows of these words (`models.heads`); None: a fresh head.
    """
    from loralens.kinds import get_kind

    set_seed(cfg.training.seed)
    method = get_method(cfg.method)
    task_kind = get_kind(kind)
    if cfg.quantized_base and not task_kind.quantizable:
        raise ConfigError(
            f"a 4-bit base (model.quantization) is built for classification; a {kind} task "
            "needs model.quantization: none"
        )
    if cfg.quantized_base:
        device = resolve_device(cfg)
        model, tok = load_qlora_base(
            cfg.model.name, num_labels, device, cfg.training.gradient_checkpointing
        )
    else:
        model, tok = task_kind.load_model(cfg.model.name, num_labels)
        task_kind.check_model(model, cfg.model.max_length)
    if label_words is not None and task_kind.labelled:
        init_prompt_head(model, resolve_model(cfg.model.name)[0], tok, label_words)
    if not method.saves_adapter:
        for p in model.parameters():
            p.requires_grad_(True)
        return model, tok
    config = peft_config(cfg, model, total_steps)
    with warnings.catch_warnings():
        # PEFT reads transformers' deprecated `is_gradient_checkpointing`: not our users' concern.
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        return get_peft_model(model, config), tok


def total_training_steps(cfg: RunConfig, num_train: int) -> int:
    """Optimizer steps the HF Trainer will take (its own formula, one process, no drop_last)."""
    t = cfg.training
    if t.max_steps > 0:
        return t.max_steps
    batches = math.ceil(num_train / t.batch_size)
    per_epoch = max(math.ceil(batches / t.grad_accum), 1)
    return math.ceil(t.epochs * per_epoch)


def trainable_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts; 4-bit weights count as their unpacked size."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(_numel(p) for p in model.parameters())


def _numel(p: torch.Tensor) -> int:
    """Elements of a parameter; bitsandbytes packs two 4-bit values per stored byte."""
    shape = getattr(getattr(p, "quant_state", None), "shape", None)
    return math.prod(shape) if shape is not None else p.numel()


def training_arguments(
    cfg: RunConfig, checkpoint_dir: Path, device: str, metric: str
) -> TrainingArguments:
    """TrainingArguments carrying every training setting of the config."""
    t = cfg.training
    return TrainingArguments(
        output_dir=str(checkpoint_dir),
        learning_rate=t.learning_rate,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.grad_accum,
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        warmup_steps=t.warmup_ratio,  # a float < 1 is a ratio of the total steps
        weight_decay=t.weight_decay,
        lr_scheduler_type=t.scheduler,
        max_grad_norm=t.max_grad_norm,
        eval_strategy="steps",
        eval_steps=t.eval_steps,
        save_strategy="steps",
        save_steps=t.eval_steps,  # model selection needs a checkpoint at every evaluation
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model=f"eval_{metric}",
        greater_is_better=get_metric(metric).greater_is_better,
        seed=t.seed,
        data_seed=t.seed,
        activation_checkpointing=t.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False}
        if t.gradient_checkpointing
        else None,
        bf16=use_bf16(cfg, device),
        use_cpu=device == "cpu",
        logging_steps=t.logging_steps,
        logging_first_step=True,
        report_to=["wandb"] if cfg.tracker == "wandb" else [],
        run_name=cfg.name,
        dataloader_num_workers=0,
        disable_tqdm=True,
        remove_unused_columns=False,
    )
