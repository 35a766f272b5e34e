"""``multiclass``: three or more classes, as they appear in the data (the prepared target is
each row's class index, in sorted order of the labels); the model's scores are every class's
probability, its label the most probable class.

Macro averages (``f1_macro``, ``roc_auc_ovr``: one class against the rest) are over the
classes that occur in the rows scored, so a segment without some class is still measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from mlops.tasks.base import (
    EPS,
    LABEL,
    PROBABILITY,
    Encoded,
    Ranked,
    Task,
    class_labels,
    listed,
    missing_target,
    rounded,
    shares,
)

if TYPE_CHECKING:
    import pandas as pd

PROBABILITY_PREFIX = f"{PROBABILITY}_"  # an output column per class: probability_<class>


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
    target_summary_name = "class shares"
    importance_meaning = "drop in one-vs-rest ROC-AUC"
    estimator_kind = "classifier"
    default_gate: ClassVar[dict[str, Any]] = {
        "minimums": {"balanced_accuracy": 0.4},
        "max_regression": {"roc_auc_ovr": 0.01, "f1_macro": 0.02},
        "regression_rule": "significant",
    }

    segment_pair = ("roc_auc_ovr", "f1_macro")
    comparison_images: ClassVar[dict[str, str]] = {
        "confusion": "Confusion matrices (each row: the shares of an actual class)"
    }

    def encode(self, target: pd.Series, column: str, positive_label: str | None) -> Encoded:
        from mlops.core.errors import DataError

        missing_target(target, column)
        labels = class_labels(target)
        if len(labels) < 3:
            raise DataError(
                f"column {column!r} (data.target) must have at least 3 labels for data.task "
                f"multiclass, found {listed(labels)} (two labels: data.task binary)"
            )
        index = {label: i for i, label in enumerate(labels)}
        return Encoded(target.astype(str).map(index).to_numpy(dtype="int64"), labels)

    def importance_score(self, y: np.ndarray, scores: np.ndarray) -> float:
        from sklearn.metrics import roc_auc_score  # scikit-learn's "roc_auc_ovr"

        return float(roc_auc_score(y, scores, multi_class="ovr"))

    def scores(self, model: Any, x: Any) -> np.ndarray:
        return np.asarray(model.predict_proba(x), dtype="float64")

    def output_fields(self, labels: list[str]) -> dict[str, dict[str, Any]]:
        probability = {"type": "number", "minimum": 0, "maximum": 1}
        return {
            LABEL: {"type": "string", "enum": list(labels)},
            **{f"{PROBABILITY_PREFIX}{label}": probability for label in labels},
        }

    def outputs(
        self, scores: np.ndarray, threshold: float | None, labels: list[str]
    ) -> dict[str, np.ndarray]:
        named = np.asarray(labels, dtype=object)
        out: dict[str, np.ndarray] = {LABEL: named[scores.argmax(axis=1)]}
        for i, label in enumerate(labels):
            out[f"{PROBABILITY_PREFIX}{label}"] = scores[:, i]
        return out

    def plot_data(
        self, y: np.ndarray, scores: np.ndarray, threshold: float | None, labels: list[str],
        bins: int,
    ) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
        from mlops.tasks import plotdata

        actual = np.asarray(y).astype(int)
        named = np.asarray(labels, dtype=object)
        return {
            "confusion": plotdata.confusion_rows(
                named[actual].tolist(), named[scores.argmax(axis=1)].tolist()
            ),
            "roc": plotdata.per_class_roc(actual, scores, labels),
        }

    def summarise_target(self, y: np.ndarray, labels: list[str]) -> dict[str, Any]:
        return {"class_shares": shares(y, labels)}

    def describe_summary(self, summary: dict[str, Any]) -> str:
        return ", ".join(f"{k} {v:.2f}" for k, v in summary.get("class_shares", {}).items())

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
