"""The one evaluation path: every model and baseline is encoded, predicted and scored here."""

from loralens.evaluation.predict import encode, predict_logits
from loralens.evaluation.scoring import score

__all__ = ["encode", "predict_logits", "score"]
