"""Evaluation: accuracy, per-class accuracy and confusion matrices."""

from unshift.eval.metrics import classification_report, confusion_matrix, predict_labels

__all__ = ["classification_report", "confusion_matrix", "predict_labels"]
