"""``binary``: two labels, one of them ``data.positive_label``; the model's score is the
positive class's probability, and its label that probability at the saved threshold."""

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
    ranking_metrics,
    rounded,
)

if TYPE_CHECKING:
    import pandas as pd

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
    target_summary_name = "positive rate"
    importance_meaning = "drop in ROC-AUC"
    estimator_kind = "classifier"
    default_gate: ClassVar[dict[str, Any]] = {
        "minimums": {"roc_auc": 0.6},
        "max_regression": {"roc_auc": 0.01, "pr_auc": 0.02},
        "regression_rule": "significant",
    }

    segment_pair = ("roc_auc", "f1")
    comparison_images: ClassVar[dict[str, str]] = {
        "roc": "ROC curves",
        "precision_recall": "Precision-recall curves",
        "confusion": "Confusion matrices",
    }

    @property
    def report_order(self) -> tuple[str, ...]:
        return ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "log_loss", "brier")

    def encode(self, target: pd.Series, column: str, positive_label: str | None) -> Encoded:
        from mlops.core.errors import DataError

        missing_target(target, column)
        labels = class_labels(target)
        if positive_label not in labels:
            raise DataError(
                f"data.positive_label: {positive_label!r} does not occur in column {column!r}; "
                f"found {listed(labels)}"
            )
        if len(labels) != 2:
            raise DataError(
                f"column {column!r} (data.target) must have exactly 2 labels for data.task "
                f"binary, found {listed(labels)} (data.task multiclass or regression?)"
            )
        negative = next(label for label in labels if label != positive_label)
        positive = (target.astype(str) == positive_label).to_numpy()
        return Encoded(positive.astype("int64"), [negative, str(positive_label)])

    def importance_score(self, y: np.ndarray, scores: np.ndarray) -> float:
        from sklearn.metrics import roc_auc_score  # scikit-learn's "roc_auc"

        return float(roc_auc_score(y, scores))

    def scores(self, model: Any, x: Any) -> np.ndarray:
        return np.asarray(model.predict_proba(x)[:, 1], dtype="float64")

    def output_fields(self, labels: list[str]) -> dict[str, dict[str, Any]]:
        return {
            PROBABILITY: {"type": "number", "minimum": 0, "maximum": 1},
            LABEL: {"type": "string", "enum": list(labels)},
        }

    def outputs(
        self, scores: np.ndarray, threshold: float | None, labels: list[str]
    ) -> dict[str, np.ndarray]:
        cut = THRESHOLD if threshold is None else threshold
        named = np.asarray(labels, dtype=object)
        return {PROBABILITY: scores, LABEL: named[(scores >= cut).astype(int)]}

    def plot_data(
        self, y: np.ndarray, scores: np.ndarray, threshold: float | None, labels: list[str],
        bins: int,
    ) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
        from mlops.tasks import plotdata

        actual = np.asarray(y).astype(int)
        predicted = (scores >= (THRESHOLD if threshold is None else threshold)).astype(int)
        return {
            "roc": plotdata.roc_points(actual, scores),
            "precision_recall": plotdata.precision_recall_points(actual, scores),
            "confusion": plotdata.confusion_rows(actual.tolist(), predicted.tolist()),
            "calibration": plotdata.calibration(actual, scores, bins),
        }

    def summarise_target(self, y: np.ndarray, labels: list[str]) -> dict[str, Any]:
        return {"positive_rate": round(float(np.mean(y)), 6) if len(y) else None}

    def describe_summary(self, summary: dict[str, Any]) -> str:
        rate = summary.get("positive_rate")
        return "-" if rate is None else f"{rate:.3f}"

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
