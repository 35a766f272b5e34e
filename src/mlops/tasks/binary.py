"""``binary``: two labels, one of them ``data.positive_label``; the model's score is the
positive class's probability, and its label that probability at the saved threshold."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from mlops.tasks.base import EPS, Ranked, Task, ranking_metrics, rounded

THRESHOLD = 0.5  # for predictions that carry no threshold of their own


class Binary(Task):
    name = "binary"
    higher_is_better: ClassVar[dict[str, bool]] = {
        "roc_auc": True,
        "pr_auc": True,
        "accuracy": True,
        "precision": True,
        "recall": True,
        "f1": True,
        "log_loss": False,
        "brier": False,
    }
    headline = "roc_auc"
    classification = True
    default_gate: ClassVar[dict[str, Any]] = {
        "minimums": {"roc_auc": 0.6},
        "max_regression": {"roc_auc": 0.01, "pr_auc": 0.02},
        "regression_rule": "significant",
    }

    def compute(self, y: Any, scores: Any, threshold: float | None = None) -> dict[str, float]:
        from sklearn import metrics as skm

        y = np.asarray(y)
        proba = np.asarray(scores, dtype="float64")
        predicted = (proba >= (THRESHOLD if threshold is None else threshold)).astype(int)
        return rounded(
            {
                "roc_auc": skm.roc_auc_score(y, proba),
                "pr_auc": skm.average_precision_score(y, proba),
                "accuracy": skm.accuracy_score(y, predicted),
                "precision": skm.precision_score(y, predicted, zero_division=0),
                "recall": skm.recall_score(y, predicted, zero_division=0),
                "f1": skm.f1_score(y, predicted, zero_division=0),
                "log_loss": skm.log_loss(y, np.clip(proba, EPS, 1 - EPS), labels=[0, 1]),
                "brier": skm.brier_score_loss(y, proba, pos_label=1),
            }
        )

    def samples(
        self, y: np.ndarray, scores: np.ndarray, threshold: float | None, counts: np.ndarray
    ) -> dict[str, np.ndarray]:
        positive = y == 1
        auc, ap = ranking_metrics(*Ranked(positive, scores).group_weights(counts))
        predicted = scores >= (THRESHOLD if threshold is None else threshold)
        tp = counts @ (predicted & positive).astype(float)
        fp = counts @ (predicted & ~positive).astype(float)
        fn = counts @ (~predicted & positive).astype(float)
        n = counts.sum(axis=1)
        clipped = np.clip(scores, EPS, 1 - EPS)
        loss = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
            recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
            f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        return {
            "roc_auc": auc,
            "pr_auc": ap,
            "accuracy": (n - fp - fn) / n,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "log_loss": counts @ loss / n,
            "brier": counts @ (scores - y) ** 2 / n,
        }


BINARY = Binary()
