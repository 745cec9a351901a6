"""The sparsity section of a synthetic study: ΔW rank measures per module and run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from loralens.sparsity.intruders import chance_intruders

SHAPES = {"q_proj": [576, 576], "v_proj": [192, 576]}
CHANCE = {  # the real chance levels of these shapes at the thresholds the rows carry
    proj: {
        str(e): round(c, 3) for e, c in chance_intruders(tuple(shape), 10, (0.1, 0.5, 0.9)).items()
    }
    for proj, shape in SHAPES.items()
}


def sparsity_section(
    rng: np.random.Generator, tasks: Sequence[str], methods: dict[str, str], seeds: Sequence[int]
) -> dict[str, Any]:
    """ΔW rank measures per module: LoRA near rank 5 of 8, full fine-tuning near 150."""
    rows = []
    for task in tasks:
        for method, base in methods.items():
            for seed in seeds:
                for layer in (0, 5, 10, 15, 20, 25, 29):
                    for proj in ("q_proj", "v_proj"):
                        lora = base == "lora"
                        eff = 5.0 + rng.normal(0, 0.5) if lora else 150 + rng.normal(0, 20)
                        used = (round(eff) / 8, round(eff * 1.4) / 8) if lora else (None, None)
                        rows.append(
                            {
                                "task": task,
                                "method": method,
                                "seed": seed,
                                "layer": layer,
                                "module": f"model.layers.{layer}.self_attn.{proj}",
                                "shape": SHAPES[proj],
                                "frobenius_norm": 0.5,
                                "spectral_norm": 0.2,
                                "numerical_rank": round(eff * 2),
                                "energy_rank_90_utilisation": used[0],
                                "energy_rank_99_utilisation": used[1],
                                "artifact": f"artifacts/sparsity-{task}-{method}-{seed}",
                                "effective_rank": float(eff),
                                "stable_rank": float(eff) / 2.5,
                                "energy_rank_90": round(eff),
                                "energy_rank_99": round(eff * 1.4),
                                "lora_rank": 8 if lora else None,
                                "rank_utilisation": float(eff) / 8 if lora else None,
                                "intruders": {"0.1": 0, "0.5": 2 if lora else 0, "0.9": 6},
                                "intruders_chance": CHANCE[proj],
                                "singular_values": sorted(rng.random(16).tolist(), reverse=True),
                            }
                        )
    return {"rows": rows}
