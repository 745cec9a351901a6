"""Training methods by registry name: each is one registration of what it builds and saves.

A method says how its PEFT config is built (None: full fine-tuning), which Trainer callbacks it
needs, what it writes after training, whether its runs can resume, whether the serving engines
can serve its adapter, and how sparsity computes its ΔW. `config.METHODS` lists these names;
nothing else branches on a method's name. Heavy imports (torch, PEFT) happen inside the builders,
so the config layer can import this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from peft import PeftConfig
    from transformers import PreTrainedModel, TrainerCallback

    from loralens.config import RunConfig
    from loralens.training.folder import TrainingRun

# How sparsity gets a run's ΔW: "lora" (α/r)·B·A from the adapter's factors, "adalora"
# P·diag(λ)·Q, "merge" the merged weights minus the base (any adapter, e.g. DoRA's rescaling),
# "full" the fine-tuned weights minus the base.
DeltaForm = Literal["lora", "adalora", "merge", "full"]
PeftBuilder = Callable[["RunConfig", "PreTrainedModel", "int | None"], "PeftConfig"]


@dataclass(frozen=True)
class Method:
    """One training method (see the module docstring)."""

    name: str
    description: str
    delta: DeltaForm
    peft_config: PeftBuilder | None = None  # None: every weight trains (full fine-tuning)
    quantized_base: bool = False  # the frozen base is loaded in 4-bit NF4
    servable: bool = False  # the serving engines can load its adapter (LoRA factors)
    resumable: bool = True  # a killed run continues from its last checkpoint
    # The selected checkpoint reloads with the shapes it trained in, so the snapshot taken at its
    # step is the selected model's (False: the snapshot is captured again from the reload).
    reloads_as_trained: bool = True
    # At step 0 the model computes the base's function bit for bit (the base's weights as loaded,
    # any adapter branch adding exact zeros), so its step-0 snapshot is the base's and can be
    # copied from a study's base snapshot instead of captured again.
    starts_at_base: bool = False
    # The config sections holding this method's own settings (e.g. "lora"): they enter its runs'
    # cache key, and no other method's key holds them.
    settings: tuple[str, ...] = ()
    callbacks: Callable[[], list[TrainerCallback]] = lambda: []
    after_training: Callable[[PreTrainedModel, TrainingRun], None] | None = None

    @property
    def saves_adapter(self) -> bool:
        """True when a run saves an adapter, False when it saves the whole model."""
        return self.peft_config is not None


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add a method to the registry (names are unique)."""
    if method.name in METHODS:
        raise ValueError(f"method '{method.name}' is already registered")
    METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    """A registered method by name (config validation has already checked it exists)."""
    return METHODS[name]


def _lora(cfg: RunConfig, model: PreTrainedModel, total_steps: int | None) -> PeftConfig:
    from loralens.training.adapters import lora_config

    return lora_config(cfg, model)


def _dora(cfg: RunConfig, model: PreTrainedModel, total_steps: int | None) -> PeftConfig:
    from loralens.training.adapters import lora_config

    return lora_config(cfg, model, use_dora=True)


def _adalora(cfg: RunConfig, model: PreTrainedModel, total_steps: int | None) -> PeftConfig:
    from loralens.training.adapters import adalora_config

    if total_steps is None or total_steps < 1:
        raise ValueError(f"method adalora needs the run's total optimizer steps, got {total_steps}")
    return adalora_config(cfg, model, total_steps)


def _adalora_callbacks() -> list[Any]:
    from loralens.training.callbacks import AdaLoraAllocationCallback

    return [AdaLoraAllocationCallback()]


def _adalora_ranks(model: PreTrainedModel, run: TrainingRun) -> None:
    from loralens.training.adalora import kept_ranks

    run.write_json(run.RANK_PATTERN, kept_ranks(model))


register(Method("full", "full fine-tuning: every weight trains", delta="full", starts_at_base=True))
register(
    Method(
        "lora",
        "LoRA (section lora)",
        delta="lora",
        peft_config=_lora,
        servable=True,
        starts_at_base=True,  # B = 0: the adapter adds exact zeros
        settings=("lora",),
    )
)
register(
    Method(
        "dora",
        "DoRA: LoRA with a learned magnitude per output feature (section lora, PEFT use_dora)",
        delta="merge",
        peft_config=_dora,
        servable=True,  # by the engines that support DoRA; the others refuse it
        settings=("lora",),
    )
)
register(
    Method(
        "adalora",
        "AdaLoRA: adaptive rank allocation (sections lora and adalora)",
        delta="adalora",
        peft_config=_adalora,
        # Checkpoints hold pruned factors but not the allocator's importance averages.
        resumable=False,
        reloads_as_trained=False,  # pruned to its rank pattern: other shapes, other rounding
        starts_at_base=True,  # its singular values E start at 0: the adapter adds exact zeros
        callbacks=_adalora_callbacks,
        after_training=_adalora_ranks,
        settings=("lora", "adalora"),
    )
)
register(
    Method(
        "qlora",
        "QLoRA: LoRA on a 4-bit NF4 base (bitsandbytes)",
        delta="lora",
        peft_config=_lora,
        quantized_base=True,
        servable=True,
        settings=("lora",),
    )
)
