"""Evaluation: accuracy, per-class accuracy, confusion matrices, proxy A-distance."""

from unshift.eval.metrics import classification_report, confusion_matrix, predict_labels
from unshift.eval.proxy_a import proxy_a_distance

__all__ = ["classification_report", "confusion_matrix", "predict_labels", "proxy_a_distance"]
