"""ΔW analysis of a run directory (LoRA/AdaLoRA adapter or full model) against its base weights."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import PreTrainedModel

from loralens.errors import LoralensError
from loralens.methods import get_method
from loralens.sparsity.intruders import (
    DEFAULT_EPSILONS,
    chance_intruders,
    intruder_dimensions_by_layer,
)
from loralens.sparsity.peft_state import (
    PEFT_PREFIX,
    adalora_deltas_from_state_dict,
    lora_deltas_from_state_dict,
)
from loralens.sparsity.spectrum import summarize_delta
from loralens.training.adapters import matches_target, resolve_targets
from loralens.training.folder import TrainingRun

TOP_SINGULAR = 16


def _base_model(model_name: str, num_labels: int, kind: str) -> PreTrainedModel:
    """The pretrained model the run started from (the model class of the run's task kind)."""
    from loralens.kinds import get_kind

    model, _ = get_kind(kind).load_model(model_name, num_labels)
    return model


def _full_deltas(run: TrainingRun, base: dict[str, torch.Tensor], targets: list[str]) -> dict:
    """W_ft − W_base for the matrices a LoRA run of the same config would adapt."""
    tuned = load_file(str(run.model_dir / "model.safetensors"))
    deltas = {}
    for key, w in tuned.items():
        module = key.removesuffix(".weight")
        if key.endswith(".weight") and matches_target(module, targets) and key in base:
            deltas[module] = w.double() - base[key].double()
    return deltas


def _adapter_deltas(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """ΔW per module of a saved LoRA or AdaLoRA adapter, and each module's (kept) rank."""
    acfg = json.loads((folder / "adapter_config.json").read_text())
    state = load_file(str(folder / "adapter_model.safetensors"))
    if acfg.get("peft_type") == "ADALORA":
        # Saved pruned to the allocated rank pattern: r = the triplets each module kept (maybe 0).
        deltas = adalora_deltas_from_state_dict(state, acfg["lora_alpha"], acfg["init_r"])
    elif acfg.get("peft_type", "LORA") == "LORA":
        deltas = lora_deltas_from_state_dict(
            state,
            acfg["lora_alpha"],
            acfg["r"],
            acfg.get("rank_pattern") or None,
            acfg.get("alpha_pattern") or None,
            use_rslora=acfg.get("use_rslora", False),
        )
    else:
        raise LoralensError(f"{folder}: adapter type {acfg['peft_type']} is not LoRA or AdaLoRA")
    return deltas, _ranks(state)


def _ranks(state: dict[str, torch.Tensor]) -> dict[str, int]:
    """Each adapted module's rank, from its saved lora_A factor (r, d_in)."""
    return {
        key.removeprefix(PEFT_PREFIX).rsplit(".lora_A", 1)[0]: t.shape[0]
        for key, t in state.items()
        if key.endswith((".lora_A.weight", ".lora_A"))
    }


def _merged_deltas(
    run: TrainingRun, model: PreTrainedModel, base: dict[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """ΔW = merged − base weights of every adapted module (exact for any adapter, e.g. DoRA)."""
    from peft import PeftModel

    ranks = _ranks(load_file(str(run.adapter_dir / "adapter_model.safetensors")))
    merged = PeftModel.from_pretrained(model, run.adapter_dir).merge_and_unload().state_dict()
    deltas = {
        module: merged[f"{module}.weight"].double() - base[f"{module}.weight"].double()
        for module in ranks
    }
    return deltas, ranks


def _layer(module: str) -> int | None:
    match = re.search(r"\.layers?\.(\d+)\.", module)
    return int(match.group(1)) if match else None


def run_sparsity(run_dir: Path, targets: str | list[str] | None = None) -> dict:
    """Per adapted matrix: spectrum summary, top singular values, intruder counts over ε.

    `targets`: the matrices a full fine-tune's ΔW is read on (None: the run's lora.targets).
    """
    run = TrainingRun(run_dir)
    cfg, metrics = run.config(), run.metrics()
    model = _base_model(cfg.model.name, len(run.label_names()), run.task_kind())
    base = {k: v.detach().clone() for k, v in model.state_dict().items()}  # merging is in place
    ranks: dict[str, int] = {}
    form = get_method(cfg.method).delta
    if form != "full" and not run.has_adapter():
        raise LoralensError(f"{run_dir}: a {cfg.method} run without adapter/; is it finished?")
    if form in ("lora", "adalora"):
        deltas, ranks = _adapter_deltas(run.adapter_dir)
    elif form == "merge":
        deltas, ranks = _merged_deltas(run, model, base)
    elif run.model_dir.is_dir():  # the matrices LoRA would adapt, named per architecture
        deltas = _full_deltas(run, base, resolve_targets(model, targets or cfg.lora.targets))
    else:
        raise LoralensError(f"{run_dir}: neither adapter/ nor model/ found; is it a training run?")
    if not deltas:
        raise LoralensError(f"{run_dir}: no adapted weight matrices found")
    intruders = intruder_dimensions_by_layer(base, deltas)
    chance = {  # per matrix shape: the count were the top singular vectors random directions
        shape: {str(e): round(c, 3) for e, c in chance_intruders(shape).items()}
        for shape in {tuple(d.shape) for d in deltas.values()}
    }
    rows = []
    for module, delta in sorted(deltas.items(), key=lambda kv: (_layer(kv[0]) or 0, kv[0])):
        summary = summarize_delta(delta, ranks.get(module) or None, rtol=1e-6).to_dict()
        sv = summary.pop("singular_values")
        rows.append(
            {
                "module": module,
                "layer": _layer(module),
                **summary,
                "singular_values": list(sv)[:TOP_SINGULAR],
                "intruders": {str(e): c for e, c in intruders[module].items()},
                "intruders_chance": chance[tuple(delta.shape)],
            }
        )
    return {
        "run": Path(run_dir).name,  # the folder, not where it lies: reruns write the same bytes
        "method": metrics.method,
        "task": metrics.task,
        "seed": metrics.seed,
        "epsilons": list(DEFAULT_EPSILONS),
        "rows": rows,
    }
