"""The data behind each task's plots (``plots/*.json``, DVC plots; the PNGs draw the same):
plain lists of points, thinned to a few hundred so that the files stay small."""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_CURVE_POINTS = 200
MAX_SCATTER_POINTS = 500
RESIDUAL_BINS = 30


def thin(points: list[dict[str, Any]], limit: int = MAX_CURVE_POINTS) -> list[dict[str, Any]]:
    """Keep at most ``limit`` points, evenly spaced, always including both ends."""
    if len(points) <= limit:
        return points
    idx = np.unique(np.linspace(0, len(points) - 1, limit).round().astype(int))
    return [points[i] for i in idx]


def r6(value: Any) -> float:
    return round(float(value), 6)


def roc_points(positive: np.ndarray, scores: np.ndarray) -> list[dict[str, float]]:
    from sklearn.metrics import roc_curve

    fpr, tpr, cut = roc_curve(positive, scores)
    rows = [
        {"fpr": r6(f), "tpr": r6(t), "threshold": r6(min(h, 1.0))}
        for f, t, h in zip(fpr, tpr, cut, strict=True)
    ]
    return thin(rows)


def precision_recall_points(positive: np.ndarray, scores: np.ndarray) -> list[dict[str, float]]:
    from sklearn.metrics import precision_recall_curve

    precision, recall, cut = precision_recall_curve(positive, scores)
    rows = [
        {"recall": r6(r), "precision": r6(p), "threshold": r6(cut[min(i, len(cut) - 1)])}
        for i, (p, r) in enumerate(zip(precision, recall, strict=True))
    ]
    return thin(rows)


def calibration(y_true: Any, proba: Any, bins: int = 10) -> list[dict[str, float]]:
    """Reliability data: per probability bin (uniform), mean prediction vs observed rate."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(proba, dtype="float64")
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        rows.append(
            {
                "bin_low": r6(edges[b]),
                "bin_high": r6(edges[b + 1]),
                "mean_predicted": r6(p[mask].mean()),
                "fraction_positive": r6(y[mask].mean()),
                "count": int(mask.sum()),
            }
        )
    return rows


def confusion_rows(actual: np.ndarray, predicted: np.ndarray) -> list[dict[str, Any]]:
    """One row per test row (DVC's confusion template counts them)."""
    return [{"actual": a, "predicted": p} for a, p in zip(actual, predicted, strict=True)]


def per_class_roc(y: np.ndarray, proba: np.ndarray, labels: list[str]) -> list[dict[str, Any]]:
    """One-vs-rest ROC curve of each class present, the class named in each point."""
    rows: list[dict[str, Any]] = []
    for k, label in enumerate(labels):
        positive = y == k
        if positive.any() and not positive.all():
            rows += [{"class": label, **p} for p in roc_points(positive, proba[:, k])]
    return rows


def predicted_vs_actual(y: np.ndarray, predicted: np.ndarray) -> list[dict[str, float]]:
    """Test rows as (actual, predicted) points, sorted by actual and thinned evenly."""
    order = np.argsort(y, kind="stable")
    rows = [{"actual": r6(y[i]), "predicted": r6(predicted[i])} for i in order]
    return thin(rows, MAX_SCATTER_POINTS)


def residual_histogram(y: np.ndarray, predicted: np.ndarray) -> list[dict[str, float]]:
    """Counts of the residuals (predicted - actual) in equal-width bins."""
    residuals = predicted - y
    counts, edges = np.histogram(residuals, bins=RESIDUAL_BINS)
    return [
        {"bin_low": r6(lo), "bin_high": r6(hi), "residual": r6((lo + hi) / 2), "count": int(c)}
        for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True)
    ]
