"""How much of its rank does an update use: ΔW construction, spectra, intruder dimensions.

Pure tensor functions, float64, no I/O. Bad input raises `SparsityInputError` (a `ValueError`).
"""

from loralens.sparsity._checks import SparsityInputError
from loralens.sparsity.delta import full_delta, lora_delta, lora_scaling
from loralens.sparsity.intruders import (
    DEFAULT_EPSILONS,
    intruder_dimensions,
    intruder_dimensions_by_layer,
    max_base_similarity,
)
from loralens.sparsity.peft_state import (
    adalora_delta,
    adalora_deltas_from_state_dict,
    lora_deltas_from_state_dict,
)
from loralens.sparsity.spectrum import (
    SpectrumSummary,
    effective_rank,
    energy_rank,
    numerical_rank,
    rank_utilisation,
    singular_values,
    stable_rank,
    summarize_delta,
)

__all__ = [
    "DEFAULT_EPSILONS",
    "SparsityInputError",
    "SpectrumSummary",
    "adalora_delta",
    "adalora_deltas_from_state_dict",
    "effective_rank",
    "energy_rank",
    "full_delta",
    "intruder_dimensions",
    "intruder_dimensions_by_layer",
    "lora_delta",
    "lora_deltas_from_state_dict",
    "lora_scaling",
    "max_base_similarity",
    "numerical_rank",
    "rank_utilisation",
    "singular_values",
    "stable_rank",
    "summarize_delta",
]
