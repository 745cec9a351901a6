"""AdaLoRA: settings reach PEFT, the budget shrinks, the allocator runs every step on gradients."""

from pathlib import Path

import pytest
import torch
from transformers import DataCollatorWithPadding, TrainingArguments

from loralens.config import AdaLoraConfig, load_config
from loralens.errors import ConfigError, LoralensError
from loralens.models.load import load_tokenizer
from loralens.training.adalora import kept_ranks
from loralens.training.adapters import adalora_config
from loralens.training.callbacks import AdaLoraAllocationCallback, GuardedTrainer
from loralens.training.setup import build_model, total_training_steps

N_MODULES = 4  # q_proj and v_proj in each of the tiny Llama's 2 layers


def _cfg(tiny: Path, *overrides: str):
    return load_config(None, [f"model.name={tiny}", "method=adalora", *overrides])


# (override, PEFT AdaLoraConfig attribute, expected value)
CASES = [
    ("adalora.init_r=10", "init_r", 10),
    ("adalora.target_r=3", "target_r", 3),
    ("adalora.tinit=5", "tinit", 5),
    ("adalora.tfinal=6", "tfinal", 6),
    ("adalora.delta_t=4", "deltaT", 4),
    ("adalora.orth_reg_weight=0.1", "orth_reg_weight", 0.1),
    ("lora.alpha=7", "lora_alpha", 7),
    ("lora.dropout=0.2", "lora_dropout", 0.2),
    ("lora.targets=qkvo", "target_modules", {"q_proj", "k_proj", "v_proj", "o_proj"}),
]


@pytest.mark.parametrize(("override", "attr", "expected"), CASES)
def test_each_adalora_setting_reaches_peft(tiny_llama_dir, override, attr, expected) -> None:
    cfg = _cfg(tiny_llama_dir, override)
    model, _ = build_model(cfg.model_copy(update={"method": "full"}), 2)
    peft_cfg = adalora_config(cfg, model, total_steps=40)
    value = getattr(peft_cfg, attr)
    assert (set(value) if isinstance(value, list | set) else value) == expected
    assert peft_cfg.total_step == 40 and "score" in peft_cfg.modules_to_save


def test_every_adalora_setting_is_covered() -> None:
    covered = {c[0].split("=")[0].removeprefix("adalora.") for c in CASES}
    assert set(AdaLoraConfig.model_fields) <= covered | {"delta_t"}


@pytest.mark.parametrize(
    ("overrides", "n_train", "expected"),
    [
        ([], 96, 6),  # batch 16: 6 batches, one epoch
        (["training.batch_size=8"], 100, 13),  # the last, short batch is a step too
        (["training.grad_accum=3", "training.batch_size=8"], 100, 5),  # ceil(13 / 3)
        (["training.epochs=2.5", "training.batch_size=8"], 96, 30),
        (["training.max_steps=7"], 96, 7),  # max_steps wins over epochs
    ],
)
def test_total_steps_match_the_trainer(overrides, n_train, expected) -> None:
    assert total_training_steps(load_config(None, overrides), n_train) == expected


@pytest.mark.parametrize(
    ("overrides", "steps", "message"),
    [
        (["lora.rank_pattern={q_proj: 4}"], 40, "lora.rank_pattern: not used by method adalora"),
        (["lora.use_rslora=true"], 40, "lora.use_rslora: not used by method adalora"),
        (["adalora.init_r=8", "adalora.target_r=8"], 40, "no budget to reallocate"),
        (["adalora.tinit=5", "adalora.tfinal=4"], 10, "tinit + tfinal <= 8"),
        (["adalora.init_r=40"], 40, "adalora.init_r 40 for model.layers.0.self_attn.v_proj"),
    ],
)
def test_bad_adalora_settings_stop_before_training(tiny_llama_dir, overrides, steps, message):
    with pytest.raises(ConfigError) as info:
        build_model(_cfg(tiny_llama_dir, *overrides), 2, total_steps=steps)
    assert message in str(info.value)


def test_orthogonal_regulariser_is_in_the_seq_cls_loss(tiny_llama_dir) -> None:
    model, tok = build_model(_cfg(tiny_llama_dir, "lora.dropout=0"), 2, total_steps=10)
    batch = tok(["a good film", "a bad one"], return_tensors="pt", padding=True)
    labels = torch.tensor([1, 0])
    model.eval()
    with torch.no_grad():
        total = model(**batch, labels=labels).loss
        task = model.base_model.model(**batch, labels=labels).loss  # bypasses AdaLoraModel.forward
    reg = []
    for name, p in model.named_parameters():
        if ".lora_A." in name or ".lora_B." in name:
            cov = p @ p.T if ".lora_A." in name else p.T @ p
            reg.append(torch.linalg.matrix_norm(cov - torch.eye(len(cov))))
    expected = 0.5 * torch.stack(reg).mean().detach()  # orth_reg_weight 0.5 (default)
    assert float(expected) > 0.1
    torch.testing.assert_close(total - task, expected, rtol=1e-4, atol=1e-6)


def _rows(tok, n: int) -> list[dict]:
    texts = [f"review number {i} was {'great' if i % 2 else 'dull'}" for i in range(n)]
    return [{"input_ids": tok(t)["input_ids"], "label": i % 2} for i, t in enumerate(texts)]


def _trainer(tiny: Path, out: Path, steps: int, *overrides: str):
    """A Trainer over a tiny AdaLoRA model, saving a checkpoint every step."""
    cfg = _cfg(tiny, "adalora.init_r=6", "adalora.target_r=2", *overrides)
    model, tok = build_model(cfg, 2, total_steps=steps)
    args = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=4,
        max_steps=steps,
        learning_rate=1e-2,
        save_strategy="steps",
        save_steps=1,
        use_cpu=True,
        report_to=[],
        disable_tqdm=True,
        logging_strategy="no",
    )
    callback = AdaLoraAllocationCallback()
    trainer = GuardedTrainer(
        model=model,
        args=args,
        train_dataset=_rows(load_tokenizer(str(tiny)), 4 * steps),
        data_collator=DataCollatorWithPadding(tok),
        callbacks=[callback],
    )
    return trainer, callback


@pytest.fixture(scope="module")
def trained(tiny_llama_dir, tmp_path_factory):
    """8 steps of AdaLoRA (tinit 2, tfinal 2), recording what update_and_allocate saw."""
    trainer, callback = _trainer(
        tiny_llama_dir, tmp_path_factory.mktemp("ada"), 8, "adalora.tinit=2", "adalora.tfinal=2"
    )
    base = trainer.model.base_model
    seen: list[tuple[int, bool]] = []
    original = base.update_and_allocate

    def spy(step: int) -> None:
        grads = [p.grad for n, p in base.named_parameters() if "lora_A" in n]
        seen.append((step, all(g is not None and g.abs().sum() > 0 for g in grads)))
        original(step)

    base.update_and_allocate = spy
    trainer.train()
    return trainer, callback, seen


def test_update_and_allocate_runs_every_step_with_gradients(trained) -> None:
    trainer, callback, seen = trained
    assert trainer.state.global_step == 8
    assert [s for s, _ in seen] == list(range(1, 9)) == callback.steps
    assert all(had_grads for _, had_grads in seen)


def test_the_rank_budget_shrinks_to_target(trained) -> None:
    trainer, _, _ = trained
    ranks = kept_ranks(trainer.model)
    assert len(ranks) == N_MODULES and all(".self_attn." in m for m in ranks)
    assert sum(ranks.values()) < 6 * N_MODULES  # init_r x modules
    assert sum(ranks.values()) == 2 * N_MODULES  # target_r x modules, fixed at step 8 - tfinal


@pytest.mark.parametrize("step", [1, 4, 6])  # before, during and after the allocation
def test_any_checkpoint_loads_as_the_selected_model(tiny_llama_dir, tmp_path, step) -> None:
    from safetensors.torch import load_file

    trainer, _ = _trainer(tiny_llama_dir, tmp_path, 6, "adalora.tinit=2", "adalora.tfinal=1")
    trainer.train()
    ckpt = tmp_path / f"checkpoint-{step}"
    trainer.state.best_model_checkpoint = str(ckpt)
    trainer._load_best_model()  # PEFT alone fails unless the live rank pattern is the checkpoint's
    saved = load_file(str(ckpt / "adapter_model.safetensors"))
    live = dict(trainer.model.named_parameters())
    factors = {k: v for k, v in saved.items() if k.endswith((".lora_A", ".lora_B", ".lora_E"))}
    for key, value in factors.items():
        torch.testing.assert_close(live[key + ".default"], value)
    saved_ranks = sum(v.shape[0] for k, v in factors.items() if k.endswith(".lora_E"))
    assert sum(kept_ranks(trainer.model).values()) == saved_ranks
    assert saved_ranks == 6 * N_MODULES if step == 1 else saved_ranks < 6 * N_MODULES


def test_a_schedule_for_other_steps_is_refused(tiny_llama_dir, tmp_path) -> None:
    trainer, _ = _trainer(tiny_llama_dir, tmp_path, 4)
    trainer.args.max_steps = 5  # the Trainer would take 5 steps, AdaLoRA was built for 4
    with pytest.raises(
        LoralensError, match="built for 4 optimizer steps but the Trainer will take 5"
    ):
        trainer.train()
