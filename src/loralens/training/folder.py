"""A training run folder: its layout, its metrics record, and reading it back.

Training writes a run folder; every other part (probing, drift, sparsity, serving, the study's
analysis, the CLI) reads it through `TrainingRun`, never by file name. Layout:

    config.yaml          the resolved run config (written first)
    env.json data.json   environment fingerprint; splits, label names, probe set hash
    checkpoints/         Trainer checkpoints while training (removed when finished)
    snapshots/           step_*.safetensors and selected.safetensors (probe representations)
    adapter/ | model/    the selected weights: a PEFT adapter, or the whole fine-tuned model
    log.json             per-step losses and the val curve
    predictions.jsonl    per-example test labels, predictions and logits
    adalora_rank_pattern.json   AdaLoRA's kept ranks (AdaLoRA runs only)
    metrics.json         test metrics and costs (written last: a finished run has it)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loralens.config import RunConfig, load_config

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

# The config sections every training run reads; a method's own settings sections
# (`Method.settings`) are added per method, so a full fine-tune's key holds no LoRA setting.
COMMON_FIELDS = ("method", "device", "model", "task", "training", "probing")
# Choices the analysis makes on a run's artifacts (every pooling is captured): not in its key.
ANALYSIS_FIELDS: dict[str, tuple[str, ...]] = {"probing": ("pooling",)}


# Fields added after run keys existed: they enter a run's fields only away from their default,
# so every run planned before them keeps its key (and its cached artifact).
LATER_FIELDS: dict[tuple[str, str], Any] = {("model", "quantization"): "none"}


def run_sections(method: str) -> tuple[str, ...]:
    """The config sections that define a run of `method`: the common ones and its own."""
    from loralens.methods import get_method

    return (*COMMON_FIELDS, *get_method(method).settings)


def run_fields(cfg: RunConfig) -> dict[str, Any]:
    """The part of a config that defines a training run (JSON-able): its cache key and the
    check that a folder being resumed holds the same run both use exactly these."""
    dump = cfg.model_dump(mode="json")
    fields = {k: dump[k] for k in run_sections(cfg.method)}
    for section, keys in ANALYSIS_FIELDS.items():
        for key in keys:
            del fields[section][key]
    for (section, key), default in LATER_FIELDS.items():
        if fields[section].get(key) == default:
            del fields[section][key]
    return fields


@dataclass(frozen=True)
class RunMetrics:
    """metrics.json: what a finished run measured on test, and what it cost."""

    task: str
    method: str
    seed: int
    test: dict[str, float]
    val_best: float | None
    selected_step: int
    steps: int
    trainable_params: int
    total_params: int
    trainable_share: float
    train_runtime_s: float | None
    wall_time_s: float
    train_tokens_per_s: float | None
    peak_rss_mb: float | None
    peak_rss_scope: str  # "run": this run's own peak; "process": the process's
    peak_gpu_mb: float | None
    device: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the file's content)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunMetrics:
        """Read a metrics record; unknown keys are an error (another writer)."""
        return cls(**data)


@dataclass(frozen=True)
class TrainingRun:
    """One training run folder (`loralens train --out DIR`, or a study's train artifact)."""

    root: Path

    CONFIG = "config.yaml"
    ENV = "env.json"
    DATA = "data.json"
    METRICS = "metrics.json"
    LOG = "log.json"
    PREDICTIONS = "predictions.jsonl"
    RANK_PATTERN = "adalora_rank_pattern.json"
    TRAINER_ARGS = "trainer_args.json"  # the arguments the HF Trainer ran with

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    # --- layout ------------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        """A file of the run by its layout name (one of the class constants)."""
        return self.root / name

    @property
    def checkpoints(self) -> Path:
        """Trainer checkpoints while the run is not finished."""
        return self.root / "checkpoints"

    @property
    def snapshots(self) -> Path:
        """Probe-set representations: step_*.safetensors and selected.safetensors."""
        return self.root / "snapshots"

    @property
    def selected_snapshot(self) -> Path:
        """The representations of the model selected on val."""
        return self.snapshots / "selected.safetensors"

    @property
    def adapter_dir(self) -> Path:
        """The saved PEFT adapter (adapter methods)."""
        return self.root / "adapter"

    @property
    def model_dir(self) -> Path:
        """The saved fine-tuned model (full fine-tuning)."""
        return self.root / "model"

    def weights_dir(self, saves_adapter: bool) -> Path:
        """Where a run of a method that saves an adapter (or the whole model) puts its weights."""
        return self.adapter_dir if saves_adapter else self.model_dir

    # --- state -------------------------------------------------------------------------------
    def exists(self) -> bool:
        """True when the folder holds a run (its config was written)."""
        return self.file(self.CONFIG).is_file()

    def finished(self) -> bool:
        """True when training finished (metrics.json is written last)."""
        return self.file(self.METRICS).is_file()

    def has_adapter(self) -> bool:
        """True when the run saved an adapter rather than a whole model."""
        return self.adapter_dir.is_dir()

    # --- reading -----------------------------------------------------------------------------
    def config(self) -> RunConfig:
        """The run's resolved config."""
        return load_config(self.file(self.CONFIG))

    def metrics(self) -> RunMetrics:
        """The finished run's metrics."""
        return RunMetrics.from_dict(self._json(self.METRICS))

    def data_record(self) -> dict[str, Any]:
        """What data the run saw: task, label names, split sizes and hashes, probe hash."""
        return self._json(self.DATA)

    def label_names(self) -> list[str]:
        """The task's label names, in label-index order."""
        return list(self.data_record()["label_names"])

    def task_kind(self) -> str:
        """The task kind the run trained (runs written before kinds existed: classification)."""
        return str(self.data_record().get("kind", "classification"))

    def predictions(self) -> list[dict[str, Any]]:
        """Per-example test records: index, label, pred, logits."""
        text = self.file(self.PREDICTIONS).read_text()
        return [json.loads(line) for line in text.splitlines() if line]

    def log(self) -> dict[str, Any]:
        """The Trainer's log: per-step training losses ('train') and val evaluations ('val')."""
        path = self.file(self.LOG)
        return json.loads(path.read_text()) if path.is_file() else {"train": [], "val": []}

    def rank_pattern(self) -> dict[str, Any] | None:
        """AdaLoRA's kept ranks per module, or None for other methods."""
        path = self.file(self.RANK_PATTERN)
        return json.loads(path.read_text()) if path.is_file() else None

    def load_model(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        """The selected model: the base with the adapter, or the saved full model."""
        from loralens.kinds import get_kind

        cfg, n = self.config(), len(self.label_names())
        load = get_kind(self.task_kind()).load_model
        if self.has_adapter():
            from peft import PeftModel

            base, tok = load(cfg.model.name, n)
            return PeftModel.from_pretrained(base, self.adapter_dir), tok
        return load(str(self.model_dir), n)

    # --- writing (training only) -------------------------------------------------------------
    def write_config(self, cfg: RunConfig) -> None:
        """Write config.yaml atomically (a resumed run is checked against it)."""
        from loralens.config import config_to_yaml

        self.root.mkdir(parents=True, exist_ok=True)
        _atomic_text(self.file(self.CONFIG), config_to_yaml(cfg))

    def write_json(self, name: str, data: object) -> None:
        """Write one of the run's JSON files atomically."""
        _atomic_text(self.file(name), json.dumps(data, indent=2, default=str))

    def write_predictions(self, records: list[dict[str, Any]]) -> None:
        """Write predictions.jsonl atomically."""
        _atomic_text(self.file(self.PREDICTIONS), "".join(json.dumps(r) + "\n" for r in records))

    def _json(self, name: str) -> Any:
        return json.loads(self.file(name).read_text())


def _atomic_text(path: Path, text: str) -> None:
    """Write text to a temporary file, then rename it into place."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def write_json(path: Path, data: object) -> None:
    """Write JSON atomically (temporary file, then rename) anywhere."""
    _atomic_text(Path(path), json.dumps(data, indent=2, default=str))
