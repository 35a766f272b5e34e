"""How sure a difference between two models is: a paired, stratified bootstrap.

Both models are scored on the same test rows. Each resample draws the positive rows and the
negative rows with replacement (so every resample keeps the test split's class balance), and
every metric is recomputed for both models on it; the percentile interval of the candidate's
minus the baseline's value is the difference's confidence interval. Pairing (the same resampled
rows for both models) removes the variation the two models share, which is most of it.

It is vectorized: a resample is a vector of row counts (a multinomial draw per class), and each
metric is a weighted sum over the rows, or over the rows grouped by distinct score for ROC-AUC
and average precision, computed for a block of resamples at once. Time and memory grow
linearly with the test rows; the block size bounds the memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mlops.core.metrics import HIGHER_IS_BETTER
from mlops.report.schema import IntervalDoc

BETTER, WORSE, SAME = "better", "worse", "no detectable difference"
BLOCK_CELLS = 4_000_000  # resamples x rows per block (32 MB of float64 counts)
_EPS = 1e-15  # log loss clips probabilities like compute_metrics


def verdict(metric: str, low: float, high: float) -> str:
    """``better`` / ``worse`` when the whole interval is on one side of 0, else ``SAME``."""
    if low > 0 or high < 0:
        improved = (low > 0) == HIGHER_IS_BETTER[metric]
        return BETTER if improved else WORSE
    return SAME


def resample_counts(y: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """``resamples`` x n row counts: each class's rows drawn with replacement, class sizes kept."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((resamples, len(y)), dtype=np.float64)
    for label in (0, 1):
        rows = np.flatnonzero(y == label)
        if len(rows):
            even = np.full(len(rows), 1 / len(rows))
            counts[:, rows] = rng.multinomial(len(rows), even, size=resamples)
    return counts


class _Ranked:
    """One model's scores grouped by distinct value, highest first (for ROC-AUC and AP)."""

    def __init__(self, y: np.ndarray, proba: np.ndarray) -> None:
        self.order = np.argsort(-proba, kind="stable")
        ranked = proba[self.order]
        self.starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        self.positive = y[self.order] == 1

    def group_weights(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per resample and distinct score (highest first): weight of positives, negatives."""
        ranked = counts[:, self.order]
        pos = np.add.reduceat(ranked * self.positive, self.starts, axis=1)
        neg = np.add.reduceat(ranked * ~self.positive, self.starts, axis=1)
        return pos, neg


def _ranking_metrics(ranked: _Ranked, counts: np.ndarray) -> dict[str, np.ndarray]:
    pos, neg = ranked.group_weights(counts)
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    # ROC-AUC: for each positive, the negatives scored lower (ties count half).
    neg_below = n_neg[:, None] - np.cumsum(neg, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (pos * (neg_below + neg / 2)).sum(axis=1) / (n_pos * n_neg)
        # Average precision: precision at each distinct score, weighted by the recall it adds.
        tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-300), 0.0)
        ap = (pos * precision).sum(axis=1) / n_pos
    return {"roc_auc": auc, "pr_auc": ap}


def _threshold_metrics(
    y: np.ndarray, proba: np.ndarray, threshold: float, counts: np.ndarray
) -> dict[str, np.ndarray]:
    predicted = proba >= threshold
    positive = y == 1
    tp = counts @ (predicted & positive).astype(float)
    fp = counts @ (predicted & ~positive).astype(float)
    fn = counts @ (~predicted & positive).astype(float)
    n = counts.sum(axis=1)
    clipped = np.clip(proba, _EPS, 1 - _EPS)
    loss = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    return {
        "accuracy": (n - fp - fn) / n,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "log_loss": counts @ loss / n,
        "brier": counts @ (proba - y) ** 2 / n,
    }


def metric_samples(
    y: np.ndarray, proba: np.ndarray, threshold: float, counts: np.ndarray
) -> dict[str, np.ndarray]:
    """Every metric of ``compute_metrics`` for each resample (a row of ``counts``)."""
    return {
        **_ranking_metrics(_Ranked(y, proba), counts),
        **_threshold_metrics(y, proba, threshold, counts),
    }


def paired(
    y: Any,
    baseline: Any,
    candidate: Any,
    *,
    thresholds: tuple[float, float],
    resamples: int,
    confidence: float,
    seed: int,
    metrics: Mapping[str, float] | None = None,
) -> dict[str, IntervalDoc]:
    """The paired bootstrap interval of every metric's difference (candidate minus baseline).

    ``thresholds`` are the two models' own saved thresholds (baseline, candidate). ``metrics``
    optionally gives the full-split differences to report as ``delta`` (else recomputed).
    A metric undefined on a split (one class only) is left out.
    """
    y = np.asarray(y).astype(int)
    base_p = np.asarray(baseline, dtype="float64")
    cand_p = np.asarray(candidate, dtype="float64")
    full = np.ones((1, len(y)))
    point = {
        m: float(c[0] - b[0])
        for (m, c), b in zip(
            metric_samples(y, cand_p, thresholds[1], full).items(),
            metric_samples(y, base_p, thresholds[0], full).values(),
            strict=True,
        )
    }
    if metrics is not None:
        point.update({k: float(v) for k, v in metrics.items() if k in point})
    block = max(1, BLOCK_CELLS // max(len(y), 1))
    differences: dict[str, list[np.ndarray]] = {m: [] for m in point}
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        counts = resample_counts(y, size, seed + start)
        cand = metric_samples(y, cand_p, thresholds[1], counts)
        base = metric_samples(y, base_p, thresholds[0], counts)
        for m in differences:
            differences[m].append(cand[m] - base[m])
    alpha = (1 - confidence) / 2
    out: dict[str, IntervalDoc] = {}
    for m, parts in differences.items():
        values = np.concatenate(parts)
        if not np.isfinite(point[m]) or not np.isfinite(values).all():
            continue
        low, high = (float(q) for q in np.quantile(values, [alpha, 1 - alpha]))
        out[m] = IntervalDoc(delta=point[m], low=low, high=high, verdict=verdict(m, low, high))
    return out
