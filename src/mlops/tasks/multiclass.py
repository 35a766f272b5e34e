"""``multiclass``: three or more classes, as they appear in the data (the prepared target is
each row's class index, in sorted order of the labels); the model's scores are every class's
probability, its label the most probable class.

Macro averages (``f1_macro``, ``roc_auc_ovr``: one class against the rest) are over the
classes that occur in the rows scored, so a segment without some class is still measured.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from mlops.tasks.base import EPS, Ranked, Task, rounded


class Multiclass(Task):
    name = "multiclass"
    higher_is_better: ClassVar[dict[str, bool]] = {
        "accuracy": True,
        "balanced_accuracy": True,
        "f1_macro": True,
        "log_loss": False,
        "roc_auc_ovr": True,
    }
    headline = "roc_auc_ovr"
    classification = True
    default_gate: ClassVar[dict[str, Any]] = {
        "minimums": {"balanced_accuracy": 0.4},
        "max_regression": {"roc_auc_ovr": 0.01, "f1_macro": 0.02},
        "regression_rule": "significant",
    }

    def compute(self, y: Any, scores: Any, threshold: float | None = None) -> dict[str, float]:
        from sklearn import metrics as skm

        y = np.asarray(y).astype(int)
        proba = np.asarray(scores, dtype="float64")
        present = np.unique(y)
        predicted = proba.argmax(axis=1)
        aucs = [skm.roc_auc_score(y == k, proba[:, k]) for k in present] if len(present) > 1 else []
        picked = np.clip(proba[np.arange(len(y)), y], EPS, 1 - EPS)
        return rounded(
            {
                "accuracy": skm.accuracy_score(y, predicted),
                "balanced_accuracy": float(
                    np.mean([np.mean(predicted[y == k] == k) for k in present])
                ),
                "f1_macro": skm.f1_score(
                    y, predicted, labels=present, average="macro", zero_division=0
                ),
                "log_loss": float(np.mean(-np.log(picked))),
                "roc_auc_ovr": float(np.mean(aucs)) if aucs else float("nan"),
            }
        )

    def samples(
        self, y: np.ndarray, scores: np.ndarray, threshold: float | None, counts: np.ndarray
    ) -> dict[str, np.ndarray]:
        y = y.astype(int)
        present = np.unique(y)
        predicted = scores.argmax(axis=1)
        n = counts.sum(axis=1)
        correct = counts @ (predicted == y).astype(float)
        recalls, f1s, aucs = [], [], []
        for k in present:
            actual, said = y == k, predicted == k
            tp = counts @ (actual & said).astype(float)
            fp = counts @ (~actual & said).astype(float)
            fn = counts @ (actual & ~said).astype(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                recalls.append(np.where(tp + fn > 0, tp / (tp + fn), 0.0))
                f1s.append(np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0))
            if len(present) > 1:
                aucs.append(Ranked(actual, scores[:, k]).roc_auc(counts))
        picked = np.clip(scores[np.arange(len(y)), y], EPS, 1 - EPS)
        nan = np.full(len(counts), np.nan)
        return {
            "accuracy": correct / n,
            "balanced_accuracy": np.mean(recalls, axis=0),
            "f1_macro": np.mean(f1s, axis=0),
            "log_loss": counts @ -np.log(picked) / n,
            "roc_auc_ovr": np.mean(aucs, axis=0) if aucs else nan,
        }


MULTICLASS = Multiclass()
