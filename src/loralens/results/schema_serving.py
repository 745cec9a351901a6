"""The serving part of the results.json contract: one benchmark (`loralens.serving.bench`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from loralens.results.schema_base import Fixed, Num, Open


class Latency(Fixed):
    """A timing summary in ms (`loralens.serving.timing.summarize`)."""

    p50: float
    p95: float
    p99: float
    median: float
    mad: float = Field(description="median absolute deviation")
    n: int = Field(description="samples")


class PairedRatio(Fixed):
    """A forward row's per-pair ratios against its A-B-A baseline (`serving.measure.add_pairs`)."""

    hodges_lehmann: float = Field(description="exp(Hodges-Lehmann median of per-pair log ratios)")
    ci_low: float | None = Field(description="exact signed-rank interval (None: unbounded)")
    ci_high: float | None
    confidence_level: float
    median: float = Field(description="exp(median of per-pair log ratios)")
    geometric_mean: float = Field(description="exp(mean of per-pair log ratios)")
    pairs: int
    baseline_median_ms: float = Field(description="median of this row's own paired baselines")
    baseline_calls_median_ms: float = Field(description="median of every baseline call")
    design: str = Field(description="how the pairs were timed")


class WarmupRecord(Fixed):
    """Untimed calls of one engine in one setting before its timed rounds."""

    calls: int
    stable: bool = Field(description="the last calls agreed within the tolerance (else: cap)")
    spread: float = Field(description="(max - min) / median of the last window of calls")


class NoiseFloor(Fixed):
    """The same baseline call's median in every setting of one batch size."""

    workload: str
    batch_size: int
    baseline_median_ms: dict[str, float] = Field(description="per setting ('K = 2, round_robin')")
    relative_spread: float = Field(description="(max - min) / median across settings")
    detail: str


class ServingRow(Open):
    """One timed measurement; vLLM's load rows add their own keys (arrival, rate, errors, ...)."""

    engine: str
    workload: str = Field(description="forward or generate")
    batch_size: int | None = Field(description="requests per batch (None: vLLM open loop)")
    k_adapters: int = Field(description="adapters mixed in the batch")
    order: str = Field(description="single, round_robin or random")
    sampling: bool | None = Field(None, description="sampled decoding (None: forward)")
    latency_ms: Latency | None = Field(description="forward: per batch; generate: per request")
    ttft_ms: Latency | None = Field(None, description="time to first token (generate)")
    tpot_ms: Latency | None = Field(None, description="time per output token (generate)")
    tokens_per_s: Num = Field(None, description="prompt (forward) or generated tokens per second")
    samples_ms: list[float] | None = Field(None, description="raw repeats (forward)")
    paired_baseline_ms: list[float] | None = Field(
        None, description="per pair: geometric mean of the two merged calls around the call"
    )
    paired_ratio: PairedRatio | None = Field(None, description="forward rows timed in pairs")
    warmup: WarmupRecord | None = None
    overhead_vs_merged: Num = Field(
        None, description="paired ratio - 1 (forward), else ratio of medians - 1"
    )
    overhead_definition: str | None = None
    analytic_extra_flops_ratio: Num = Field(None, description="LoRA FLOPs / base linear FLOPs")


class ServedRun(Fixed):
    """A study run whose adapter a serving group served."""

    stage: str
    task: str
    variant: str
    seed: int
    adapter: str = Field(description="the adapter's name in the benchmark")


class ServingGroupInfo(Fixed):
    """Which adapters were served together on one base."""

    id: str = Field(description="the serve stage, e.g. serve/2-labels")
    num_labels: int = Field(description="the classifier head size they share")
    tasks: list[str]
    runs: list[ServedRun]


class ServingSettings(Open):
    """How the benchmark ran (every setting: see `loralens.serving.bench`)."""

    model: str
    device: str
    dtype: str
    threads: int
    prompt_length: int = Field(description="tokens")
    output_length: int = Field(description="new tokens (generate)")
    warmup: int
    repeats: int
    load_average_start: list[float] | None = Field(description="1/5/15-minute load average")
    load_average_end: list[float] | None = None


class ServedAdapter(Fixed):
    """An adapter the benchmark loaded (`AdapterSpec.describe`)."""

    name: str
    path: str
    synthetic: bool = Field(description="random weights, untrained (to reach the largest K)")
    ranks: list[int]
    targets: list[str]
    modules_to_save: list[str]


class CorrectnessCase(Fixed):
    """One engine's outputs against PEFT on one adapter, the base or the mixed batch."""

    engine: str
    workload: str
    adapter: str = Field(description="adapter name, __base__ or mixed")
    max_abs_logit_diff: Num = Field(description="None: the engine returns no logits")
    greedy_equal: bool | None = Field(description="None for forward")
    passed: bool
    error: str | None = None
    token_agreement: Num = None
    rows_equal: int | None = None
    rows: int | None = None
    first_divergence: int | None = None


class ServingMemory(Fixed):
    """Memory of the base, per adapter per engine, merged copies, and the break-even."""

    base_mb: float
    base_params_mb: float
    per_adapter_mb: dict[str, float] = Field(description="per engine: increment per adapter")
    engine_total_mb: dict[str, float]
    adapter_weights_mb: float
    merged_copy_mb: float
    merged_copies_mb: dict[str, float] = Field(description="N (as text) -> N merged copies")
    break_even_adapters: int | None = Field(description="None: merging always pays")
    method: str
    detail: str


class Switching(Fixed):
    """Cost of switching adapters."""

    set_adapter_ms: Latency
    merge_unmerge_ms: Latency
    note: str


class Analytic(Fixed):
    """LoRA's extra FLOPs against the base's linear layers (`loralens.serving.analytic`)."""

    extra_flops_ratio: float
    detail: dict[str, Any] = Field(description="per adapter, fused padding, formula")


class ServingResult(Open):
    """What `loralens.serving.run_serve_bench` returns (and a serve stage's serving.json holds);
    an engine's own block (vLLM) under its name."""

    settings: ServingSettings
    adapters: list[ServedAdapter]
    correctness: list[CorrectnessCase]
    refused: dict[str, str] = Field(description="engines not timed, with the reason")
    failed: dict[str, str] = Field(description="separate-process engines that failed")
    rows: list[ServingRow]
    noise_floor: list[NoiseFloor] = Field(
        default_factory=list, description="the paired baseline's spread across settings"
    )
    memory: ServingMemory | None = Field(description="None: not measured")
    switching: Switching | None = Field(None, description="None: not measured")
    cold_start_s: dict[str, float] = Field(
        default_factory=dict, description="per engine: load base, adapters"
    )
    cold_start_generate_s: dict[str, float] = Field(default_factory=dict)
    analytic: Analytic | None = None

    @field_validator("memory", "switching", mode="before")
    @classmethod
    def _none_if_empty(cls, value: Any) -> Any:
        """An empty block ({}: not measured) as None."""
        return None if value == {} else value


class ServingGroup(ServingResult):
    """One serving benchmark in results.json, with the group of study runs it served."""

    group: ServingGroupInfo
    artifact: str
