"""Classification metrics shared by training, evaluation and (later) the PR report."""

from __future__ import annotations

from typing import Any

import numpy as np

THRESHOLD = 0.5

# Metric name -> True when higher is better.
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "pr_auc": True,
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "log_loss": False,
    "brier": False,
}


def compute_metrics(y_true: Any, proba: Any, threshold: float = THRESHOLD) -> dict[str, float]:
    from sklearn import metrics as skm

    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype="float64")
    predicted = (proba >= threshold).astype(int)
    values = {
        "roc_auc": skm.roc_auc_score(y_true, proba),
        "pr_auc": skm.average_precision_score(y_true, proba),
        "accuracy": skm.accuracy_score(y_true, predicted),
        "precision": skm.precision_score(y_true, predicted, zero_division=0),
        "recall": skm.recall_score(y_true, predicted, zero_division=0),
        "f1": skm.f1_score(y_true, predicted, zero_division=0),
        "log_loss": skm.log_loss(y_true, np.clip(proba, 1e-15, 1 - 1e-15), labels=[0, 1]),
        "brier": skm.brier_score_loss(y_true, proba, pos_label=1),
    }
    return {name: round(float(value), 6) for name, value in values.items()}
