"""What every task provides (:class:`Task`), and the resampling shared by all of them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# The output columns' names (the output contract, Task.output_fields).
LABEL = "label"
PROBABILITY = "probability"
PREDICTION = "prediction"

# How reports name a metric (any other metric by its own name).
DISPLAY = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "f1": "F1",
    "roc_auc_ovr": "ROC-AUC (one-vs-rest)",
    "f1_macro": "macro F1",
    "balanced_accuracy": "balanced accuracy",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
}

EPS = 1e-15  # probabilities are clipped to [EPS, 1 - EPS] for the log loss, in every task


class Task(ABC):
    name: ClassVar[str]
    # metric -> True when higher is better, in the order reports list them
    higher_is_better: ClassVar[dict[str, bool]]
    headline: ClassVar[str]  # the metric a one-line summary and permutation importance use
    classification: ClassVar[bool]
    # A new table's gate (mlops init): a minimum on the headline metric, the largest losses
    # against the baseline that a PR may show (judged on the report's intervals).
    default_gate: ClassVar[dict[str, Any]]

    # How a segment's rows are summarised beside its metrics (segments.json, the report).
    target_summary_name: ClassVar[str]
    # What a permutation importance means in the terms of importance_score (e.g. "drop in
    # ROC-AUC").
    importance_meaning: ClassVar[str]
    # The model families' estimator kind: "classifier" or "regressor".
    estimator_kind: ClassVar[str]

    # The two metrics a report's per-segment table shows (the headline first).
    segment_pair: ClassVar[tuple[str, str]]
    # The PR report's comparison images (stages.plots): file stem -> caption.
    comparison_images: ClassVar[dict[str, str]]

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.higher_is_better)

    @property
    def report_order(self) -> tuple[str, ...]:
        """The order of the report's metric table."""
        return self.metrics

    @abstractmethod
    def encode(self, target: pd.Series, column: str, positive_label: str | None) -> Encoded:
        """The prepared target column (what models fit) from the raw one, and the labels (the
        class values as in the data, in the order of the encoding); a bad target raises
        :class:`~mlops.core.errors.DataError` naming ``column``."""

    @abstractmethod
    def importance_score(self, y: np.ndarray, scores: np.ndarray) -> float:
        """The permutation importance's score (higher is better) of :meth:`scores` on one
        split: scikit-learn's scorer of the headline metric, computed from the scores."""

    @abstractmethod
    def scores(self, model: Any, x: Any) -> np.ndarray:
        """What the metrics are computed from: a classifier's probabilities (one column for
        ``binary``: the positive class), a regressor's predictions."""

    @abstractmethod
    def output_fields(self, labels: list[str]) -> dict[str, dict[str, Any]]:
        """The output contract: each output column and its JSON schema, in order. Batch
        scoring, the MLflow pyfunc and the service all answer with these columns."""

    @abstractmethod
    def outputs(
        self, scores: np.ndarray, threshold: float | None, labels: list[str]
    ) -> dict[str, np.ndarray]:
        """The output columns (:meth:`output_fields`) of ``scores``."""

    @abstractmethod
    def plot_data(
        self, y: np.ndarray, scores: np.ndarray, threshold: float | None, labels: list[str],
        bins: int,
    ) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
        """The test split's plots (``plots/<name>.json``, drawn as ``plots/images/<name>.png``)."""

    @abstractmethod
    def summarise_target(self, y: np.ndarray, labels: list[str]) -> dict[str, Any]:
        """A segment's (or a split's) target in a few figures, e.g. the positive rate."""

    @abstractmethod
    def describe_summary(self, summary: dict[str, Any]) -> str:
        """:meth:`summarise_target`'s figures as one short table cell."""

    @abstractmethod
    def compute(self, y: Any, scores: Any, threshold: float | None = None) -> dict[str, float]:
        """Every metric on one test split (rounded to 6 digits)."""

    @abstractmethod
    def samples(
        self, y: np.ndarray, scores: np.ndarray, threshold: float | None, counts: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Every metric for each resample: a row of ``counts`` says how often each row was
        drawn (the bootstrap weights); ``counts`` of one row of ones is the whole split."""

    def strata(self, y: np.ndarray) -> list[np.ndarray]:
        """The row groups a resample keeps the sizes of: the classes, for a classifier."""
        if not self.classification:
            return [np.arange(len(y))]
        return [np.flatnonzero(y == label) for label in np.unique(y)]


@dataclass(frozen=True)
class Encoded:
    """A prepared target and, for a classifier, its labels (index i is class i)."""

    values: np.ndarray
    labels: list[str]


def class_labels(target: pd.Series) -> list[str]:
    """A classifier's labels (the target's distinct values as text), sorted."""
    return sorted(str(v) for v in target.unique())


def listed(labels: list[str], limit: int = 8) -> str:
    """At most ``limit`` labels for a message, and how many more there are."""
    shown = ", ".join(repr(v) for v in labels[:limit])
    more = f" and {len(labels) - limit} more" if len(labels) > limit else ""
    return f"{len(labels)} label(s): {shown}{more}"


def resample_counts(strata: list[np.ndarray], n: int, resamples: int, seed: int) -> np.ndarray:
    """``resamples`` x n row counts: each stratum's rows drawn with replacement, its size kept."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((resamples, n), dtype=np.float64)
    for rows in strata:
        if len(rows):
            even = np.full(len(rows), 1 / len(rows))
            counts[:, rows] = rng.multinomial(len(rows), even, size=resamples)
    return counts


class Ranked:
    """One model's scores grouped by distinct value, highest first (for ROC-AUC and AP)."""

    def __init__(self, positive: np.ndarray, scores: np.ndarray) -> None:
        self.order = np.argsort(-scores, kind="stable")
        ranked = scores[self.order]
        self.starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        self.positive = positive[self.order]

    def group_weights(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per resample and distinct score (highest first): weight of positives, negatives."""
        ranked = counts[:, self.order]
        pos = np.add.reduceat(ranked * self.positive, self.starts, axis=1)
        neg = np.add.reduceat(ranked * ~self.positive, self.starts, axis=1)
        return pos, neg

    def roc_auc(self, counts: np.ndarray) -> np.ndarray:
        return ranking_metrics(*self.group_weights(counts))[0]


def ranking_metrics(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC-AUC and average precision per resample, from :meth:`Ranked.group_weights`."""
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    # ROC-AUC: for each positive, the negatives scored lower (ties count half).
    neg_below = n_neg[:, None] - np.cumsum(neg, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (pos * (neg_below + neg / 2)).sum(axis=1) / (n_pos * n_neg)
        # Average precision: precision at each distinct score, weighted by the recall it adds.
        tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-300), 0.0)
        ap = (pos * precision).sum(axis=1) / n_pos
    return auc, ap


def rounded(values: dict[str, Any]) -> dict[str, float]:
    return {name: round(float(value), 6) for name, value in values.items()}


def missing_target(target: pd.Series, column: str) -> None:
    from mlops.core.errors import DataError

    if target.isna().any():
        raise DataError(
            f"column {column!r} (data.target) has {int(target.isna().sum())} missing value(s)"
        )


def shares(y: np.ndarray, labels: list[str]) -> dict[str, float]:
    """Each class's share of the rows ``y`` (class indices)."""
    counts = np.bincount(y.astype(int), minlength=len(labels))
    total = max(int(counts.sum()), 1)
    return {label: round(float(c) / total, 6) for label, c in zip(labels, counts, strict=True)}
