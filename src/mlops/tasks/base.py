"""What every task provides (:class:`Task`), and the resampling shared by all of them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

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

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.higher_is_better)

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
