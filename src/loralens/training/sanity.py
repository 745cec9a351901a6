"""`loralens sanity`: pass/fail checks that training does what it claims, for full and LoRA."""

from __future__ import annotations

import copy
import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import DataCollatorWithPadding, TrainerCallback
from transformers.trainer_callback import PrinterCallback

from loralens.config import RunConfig
from loralens.data import load_task_from_config
from loralens.evaluation import encode, predict_logits
from loralens.models.load import load_tokenizer
from loralens.training.callbacks import GuardedTrainer
from loralens.training.setup import build_model, resolve_device, training_arguments

N_EXAMPLES = 10


@dataclass(frozen=True)
class Check:
    """One sanity check's outcome."""

    method: str
    name: str
    passed: bool
    detail: str


class StopWhenFit(TrainerCallback):
    """Stop training once every training example is classified correctly (checked every 5 steps)."""

    def __init__(self, tok, rows: list[dict]) -> None:
        self.tok, self.rows = tok, rows

    def on_step_end(self, args, state, control, model=None, **kw) -> None:
        """Evaluate train accuracy and stop at 100%."""
        if state.global_step % 5 == 0 and _accuracy(model, self.tok, self.rows) == 1.0:
            control.should_training_stop = True


class GradientProbe(TrainerCallback):
    """Before each optimizer step (after clipping): which parameters got gradients, and the norm."""

    def __init__(self) -> None:
        self.nonzero: set[str] = set()
        self.frozen_with_grad: set[str] = set()
        self.max_clipped_norm = 0.0
        self.losses: list[float] = []
        self.max_logged_norm = 0.0

    def on_pre_optimizer_step(self, args, state, control, model=None, **kw) -> None:
        """Record gradient reach and the clipped total norm."""
        norms = []
        for name, p in model.named_parameters():
            if p.grad is None:
                continue
            if not p.requires_grad:
                self.frozen_with_grad.add(name)
            elif p.grad.abs().sum() > 0:
                self.nonzero.add(name)
            norms.append(p.grad.detach().float().norm())
        total = torch.stack(norms).norm().item() if norms else 0.0
        self.max_clipped_norm = max(self.max_clipped_norm, total)

    def on_log(self, args, state, control, logs=None, **kw) -> None:
        """Keep per-step losses and the largest pre-clipping gradient norm."""
        if logs and "loss" in logs:
            self.losses.append(float(logs["loss"]))
            self.max_logged_norm = max(self.max_logged_norm, float(logs.get("grad_norm", 0.0)))


def _train(
    cfg: RunConfig, rows: list[dict], steps: int, workdir: Path, stop_when_fit: bool = False
):
    """Train on `rows` for up to `steps` steps (no eval, no checkpoints): model, tok, probe."""
    model, tok = build_model(cfg, cfg_num_labels(rows))
    base = training_arguments(cfg, workdir, resolve_device(cfg), "accuracy")
    args = dataclasses.replace(
        base,
        max_steps=steps,
        eval_strategy="no",
        save_strategy="no",
        load_best_model_at_end=False,
        logging_steps=1,
        warmup_steps=0,
        lr_scheduler_type="constant",
    )
    probe = GradientProbe()
    trainer = GuardedTrainer(
        model=model,
        args=args,
        train_dataset=rows,
        data_collator=DataCollatorWithPadding(tok),
        callbacks=[probe, StopWhenFit(tok, rows)] if stop_when_fit else [probe],
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    return model, tok, probe


def cfg_num_labels(rows: list[dict]) -> int:
    """Number of classes seen in the rows (at least 2)."""
    return max(2, max(r["labels"] for r in rows) + 1)


def _accuracy(model, tok, rows: list[dict]) -> float:
    """Accuracy through the one evaluation path."""
    preds = predict_logits(model, rows, tok.pad_token_id).argmax(-1)
    return (preds == torch.tensor([r["labels"] for r in rows])).float().mean().item()


def sanity_rows(cfg: RunConfig) -> list[dict]:
    """Ten training examples of the task, both classes represented, encoded once."""
    data = load_task_from_config(cfg.task)
    by_label: dict[int, list] = {}
    for ex in data.splits.train:
        by_label.setdefault(ex.label, []).append(ex)
    picked = [ex for group in zip(*by_label.values(), strict=False) for ex in group][:N_EXAMPLES]
    tok = load_tokenizer(cfg.model.name)
    return encode(data.spec, tok, picked, cfg.model.max_length)


def method_checks(cfg: RunConfig, rows: list[dict], steps: int) -> list[Check]:
    """Every check for one method (cfg.method is 'full' or 'lora')."""
    m = cfg.method
    with tempfile.TemporaryDirectory() as tmp:
        model, tok, probe = _train(cfg, rows, steps, Path(tmp), stop_when_fit=True)
        short_a = _train(cfg, rows, 3, Path(tmp))
        short_b = _train(cfg, rows, 3, Path(tmp))
    acc = _accuracy(model, tok, rows)
    checks = [
        Check(
            m,
            "overfits 10 examples",
            acc == 1.0,
            f"train accuracy {acc:.0%} after {probe_steps(probe)} steps",
        ),
        _gradient_check(m, model, probe),
        _clipping_check(m, cfg.training.max_grad_norm, probe),
        _determinism_check(m, short_a, short_b),
    ]
    if m == "lora":
        checks += lora_checks(cfg, model, tok, rows)
    return checks


def probe_steps(probe: GradientProbe) -> int:
    """Number of optimizer steps a probe saw."""
    return len(probe.losses)


def _gradient_check(method: str, model, probe: GradientProbe) -> Check:
    """Gradients reached every trainable parameter and no frozen one."""
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    missing = sorted(trainable - probe.nonzero)
    ok = not missing and not probe.frozen_with_grad
    detail = f"{len(probe.nonzero)}/{len(trainable)} trainable tensors got non-zero gradients"
    if missing:
        detail += f"; none for {missing[:3]}"
    if probe.frozen_with_grad:
        detail += f"; frozen with gradients: {sorted(probe.frozen_with_grad)[:3]}"
    return Check(method, "gradients reach all trainable, no frozen", ok, detail)


def _clipping_check(method: str, max_norm: float, probe: GradientProbe) -> Check:
    """After clipping, the total gradient norm never exceeded max_grad_norm."""
    ok = probe.max_clipped_norm <= max_norm * (1 + 1e-4)
    detail = (
        f"largest norm before clipping {probe.max_logged_norm:.3g}, "
        f"after {probe.max_clipped_norm:.3g} (max_grad_norm {max_norm})"
    )
    return Check(method, "clipping bounds the gradient norm", ok, detail)


def _determinism_check(method: str, a: tuple, b: tuple) -> Check:
    """The same seed twice gives identical loss curves and weights."""
    same_loss = a[2].losses == b[2].losses
    same_weights = all(
        torch.equal(pa, pb)
        for pa, pb in zip(a[0].state_dict().values(), b[0].state_dict().values(), strict=True)
    )
    detail = f"losses {'equal' if same_loss else 'differ'}, weights "
    detail += "equal" if same_weights else "differ"
    return Check(method, "same seed, same run", same_loss and same_weights, detail)


def lora_checks(cfg: RunConfig, model, tok, rows: list[dict]) -> list[Check]:
    """LoRA-only checks: frozen base, non-zero B, analytic parameter count, merge equality."""
    base_model, _ = build_model(cfg.model_copy(update={"method": "full"}), cfg_num_labels(rows))
    base = dict(base_model.named_parameters())
    changed = [
        n
        for n, p in model.named_parameters()
        if "lora_" not in n
        and "modules_to_save" not in n
        and "original_module" not in n
        and not torch.equal(p, base[_base_name(n)])
    ]
    zero_b = [n for n, p in model.named_parameters() if "lora_B" in n and not p.any()]
    expected = analytic_lora_params(model) + _head_params(model)
    actual = sum(p.numel() for p in model.parameters() if p.requires_grad)
    merged = copy.deepcopy(model).merge_and_unload()
    diff = predict_logits(model, rows, tok.pad_token_id) - predict_logits(
        merged, rows, tok.pad_token_id
    )
    max_diff = diff.abs().max().item()
    return [
        Check(
            "lora",
            "base weights bit-identical",
            not changed,
            f"{len(changed)} base tensors changed",
        ),
        Check(
            "lora", "every lora_B non-zero", not zero_b, f"{len(zero_b)} lora_B tensors all zero"
        ),
        Check(
            "lora",
            "trainable = sum r(d_in+d_out) + head",
            actual == expected,
            f"trainable {actual:,}, analytic {expected:,}",
        ),
        Check("lora", "merged logits = unmerged", max_diff < 1e-4, f"max |diff| {max_diff:.2e}"),
    ]


def _base_name(peft_name: str) -> str:
    """The parameter name in the plain model for a name inside a PEFT wrapper."""
    name = peft_name.removeprefix("base_model.model.")
    return name.replace(".base_layer.", ".")


def analytic_lora_params(model) -> int:
    """Σ r·(d_in + d_out) over every LoRA-wrapped linear layer."""
    total = 0
    for module in model.modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            r = module.r["default"]
            total += r * (module.in_features + module.out_features)
    return total


def _head_params(model) -> int:
    """Parameters of the trainable copy of the classification head."""
    return sum(p.numel() for n, p in model.named_parameters() if "modules_to_save" in n)


# Learning rates that overfit ten examples quickly without diverging.
SANITY_LR = {"full": 5e-5, "lora": 1e-3}


def run_sanity(cfg: RunConfig, steps: int = 60) -> list[Check]:
    """Every check, for full fine-tuning and LoRA."""
    rows = sanity_rows(cfg)
    checks = []
    for method, lr in SANITY_LR.items():
        training = cfg.training.model_copy(update={"learning_rate": lr, "batch_size": len(rows)})
        run_cfg = cfg.model_copy(update={"method": method, "training": training})
        checks += method_checks(run_cfg, rows, steps)
    return checks
