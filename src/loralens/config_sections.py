"""Config sections that stand alone: AdaLoRA's schedule, probing, forgetting, serving (in-process
and vLLM), report thresholds, tracking.

`loralens.config` composes them into a RunConfig and re-exports them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from loralens.probing.pooling import DEFAULT_POOLING, DEFAULT_SINK_RATIO, get_pooling


class Section(BaseModel):
    """Base for every config section: unknown keys are errors; assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class AdaLoraConfig(Section):
    """AdaLoRA budget schedule (PEFT AdaLoraConfig)."""

    init_r: int = Field(12, ge=1)
    target_r: int = Field(8, ge=1)
    tinit: int = Field(0, ge=0)
    tfinal: int = Field(0, ge=0)
    delta_t: int = Field(1, ge=1)
    orth_reg_weight: float = Field(0.5, ge=0)

    @model_validator(mode="after")
    def _budget_shrinks(self) -> AdaLoraConfig:
        if self.target_r > self.init_r:
            raise ValueError(f"target_r ({self.target_r}) must not exceed init_r ({self.init_r})")
        return self


class ProbingConfig(Section):
    """Fixed probe set and representation snapshots during training."""

    max_examples: int = Field(256, ge=5, le=1000)  # 5: the least debiased CKA can take
    snapshot_every: int = Field(0, ge=0)
    batch_size: int = Field(32, ge=1)
    pooling: str = Field(
        DEFAULT_POOLING, description="the pooling drift is compared on (all are captured)"
    )
    sink_tokens: int = Field(
        1, ge=0, description="leading tokens mean_nosink leaves out (attention sinks)"
    )
    sink_ratio: float = Field(
        DEFAULT_SINK_RATIO,
        ge=0,
        description="mean_nosink also leaves out every token whose state norm at some layer "
        "exceeds this multiple of its input's median token norm (massive activations); 0: off",
    )

    @field_validator("pooling")
    @classmethod
    def _known_pooling(cls, v: str) -> str:
        return get_pooling(v).name


class ForgettingConfig(Section):
    """What each fine-tuned model may have forgotten of the base model's capabilities."""

    text: str | None = Field(
        None,
        description="a language-modelling task whose test text (never trained on) is scored by "
        "every run and the base model; None: no forgetting stages",
    )
    tasks: list[str] = Field(
        default_factory=list,
        description="classification tasks scored zero-shot by every run and the base model",
    )
    max_windows: int = Field(64, ge=1, description="scoring windows of the text")
    max_examples: int = Field(200, ge=5, description="test examples of each task")


VLLM_ENV_PREFIXES = ("VLLM_", "OMP_", "KMP_")
# The names of `loralens.serving.registry.ENGINES` (a test keeps them equal), known here so that a
# config naming an unknown engine is refused when it is read, without importing the engines.
SERVING_ENGINES = ("merged", "unmerged", "peft-mixed", "fused", "vllm")


class VllmConfig(Section):
    """The `vllm` engine: its server settings and the load it is measured under."""

    concurrency: list[int] = Field(default_factory=lambda: [1, 2, 4, 8, 16])  # closed-loop levels
    requests: int = Field(32, ge=1)  # requests per closed-loop level (at least 2 per worker)
    poisson_rates: list[float] = Field(default_factory=lambda: [1.0, 4.0])  # open-loop req/s
    poisson_requests: int = Field(32, ge=1)
    warmup_requests: int = Field(4, ge=0)  # sent (and not timed) before each server's runs
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    kvcache_space_gib: int = Field(1, ge=1)  # VLLM_CPU_KVCACHE_SPACE
    omp_threads_bind: str | None = None  # VLLM_CPU_OMP_THREADS_BIND (None: vLLM's default)
    env: dict[str, str | int | float] = Field(default_factory=dict)  # more server variables
    max_loras: int | None = Field(None, ge=1)  # None: every adapter served at once
    max_lora_rank: int | None = Field(None, ge=1)  # None: the smallest vLLM allows >= ranks
    max_num_seqs: int = Field(16, ge=1)
    max_model_len: int = Field(512, ge=16)
    merged: bool = True  # also serve adapter 1 merged, the baseline of the LoRA overhead
    startup_timeout_s: float = Field(300.0, gt=0)
    build_env: bool = True  # build the vLLM environment if it is not cached

    @field_validator("env")
    @classmethod
    def _server_variables_only(cls, v: dict) -> dict:
        # A study file must not reach the server process beyond vLLM's and OpenMP's own knobs
        # (PYTHONPATH or LD_PRELOAD there would run code the study file chose).
        refused = sorted(k for k in v if not k.startswith(VLLM_ENV_PREFIXES))
        if refused:
            allowed = ", ".join(f"{p}*" for p in VLLM_ENV_PREFIXES)
            raise ValueError(f"cannot set {', '.join(refused)} for the server; allowed: {allowed}")
        return v


class ServingConfig(Section):
    """In-process and vLLM serving benchmark settings."""

    engines: list[str] = Field(
        default_factory=lambda: ["merged", "unmerged", "peft-mixed", "fused"]
    )
    batch_sizes: list[int] = Field(default_factory=lambda: [1, 2, 4, 8, 16])
    num_adapters: list[int] = Field(default_factory=lambda: [1, 2, 4, 8])
    prompt_length: int = Field(64, ge=1)
    output_length: int = Field(16, ge=1)
    warmup: int = Field(2, ge=0)  # at least this many untimed calls per engine and setting
    warmup_max: int = Field(12, ge=1)  # then more, until stable, at most this many
    warmup_window: int = Field(3, ge=2)  # stable: the last k calls of every engine agree ...
    warmup_tolerance: float = Field(0.10, gt=0)  # ... within this (max - min) / median
    repeats: int = Field(20, ge=1)  # rounds: forward, A-B-A pairs per engine (the verdict's n)
    generate_repeats: int | None = Field(None, ge=1)  # generation rounds (None: repeats)
    generation_batch_size: int = Field(8, ge=1)
    mixed_batch_size: int | None = Field(None, ge=1)  # None: the largest of batch_sizes
    orders: list[Literal["round_robin", "random"]] = Field(
        default_factory=lambda: ["round_robin", "random"], min_length=1
    )
    sampling: list[bool] = Field(default_factory=lambda: [False, True], min_length=1)
    temperature: float = Field(0.8, gt=0)
    threads: int | None = Field(None, ge=1)  # torch intra-op threads; None: torch's default
    device: Literal["auto", "cpu", "cuda"] = "auto"
    num_labels: int = Field(2, ge=1)  # classifier labels when no adapter saves a head
    synthetic_ranks: list[int] = Field(default_factory=lambda: [8], min_length=1)
    synthetic_targets: str | list[str] = "qv"
    synthetic_alpha: float = Field(16.0, gt=0)
    max_rank: int = Field(64, ge=1)  # the fused engine's largest rank
    atol: float = Field(1e-4, ge=0)
    rtol: float = Field(1e-4, ge=0)  # gate: max|Δlogit| <= atol + rtol·max|reference logit|
    check_tokens: int = Field(4, ge=1)  # greedy tokens compared by the correctness gate
    seed: int = 0
    vllm: VllmConfig = Field(default_factory=VllmConfig)

    @field_validator("engines")
    @classmethod
    def _known_engines(cls, v: list[str]) -> list[str]:
        from loralens.suggest import unknown_name_message

        for name in v:
            if name not in SERVING_ENGINES:
                raise ValueError(unknown_name_message("engine", name, SERVING_ENGINES))
        return v

    @field_validator("batch_sizes", "num_adapters", "synthetic_ranks")
    @classmethod
    def _positive_list(cls, v: list[int]) -> list[int]:
        if not v or any(x < 1 for x in v):
            raise ValueError("must be a non-empty list of positive integers")
        return v


class ReportConfig(Section):
    """Hypothesis thresholds and significance level."""

    alpha: float = Field(0.05, gt=0, lt=1)
    max_accuracy_loss: float = Field(
        0.03,
        ge=0,
        le=1,
        description="part A's margin for every percent metric (accuracy, F1, EM: 0.03 = 3 "
        "points) not in `margins`",
    )
    margins: dict[str, float] = Field(
        default_factory=dict,
        description="part A's margin per primary metric, in the metric's own scale (e.g. nll: "
        "0.03 nats = 3% more perplexity); required for a metric that is not a percentage",
    )
    min_drift_reduction: float = Field(0.20, ge=0, le=1)
    max_serving_overhead: float = Field(0.30, ge=0)
    serving_engine: str = "peft-mixed"  # the multi-adapter engine the hypothesis is tested on

    @field_validator("margins")
    @classmethod
    def _known_metrics(cls, v: dict[str, float]) -> dict[str, float]:
        from loralens.task_metrics import METRICS

        for name, margin in v.items():
            if name not in METRICS or METRICS[name].val_only:
                allowed = ", ".join(m for m, x in METRICS.items() if not x.val_only)
                raise ValueError(f"unknown metric {name!r}; allowed: {allowed}")
            if not 0 <= margin < float("inf") or (METRICS[name].percent and margin > 1):
                top = "1 (a fraction: 0.03 = 3 points)" if METRICS[name].percent else "finite"
                raise ValueError(f"{name}: the margin must be >= 0 and {top}, got {margin}")
        return v

    def margin(self, metric: str) -> float:
        """Part A's margin on `metric`, in its own scale; ValueError when none is declared."""
        from loralens.task_metrics import get_metric

        if metric in self.margins:
            return self.margins[metric]
        if get_metric(metric).percent:
            return self.max_accuracy_loss
        unit = get_metric(metric).difference_unit
        raise ValueError(
            f"report.margins has no margin for the primary metric {metric!r} (a difference in "
            f"{unit}, not a percentage): declare report.margins.{metric}"
        )


class WandbConfig(Section):
    """Weights & Biases tracking (with `tracker: wandb`); unset keys fall back to WANDB_* env."""

    project: str | None = None
    entity: str | None = None
    mode: Literal["online", "offline"] | None = None  # offline: logs kept locally, synced later
