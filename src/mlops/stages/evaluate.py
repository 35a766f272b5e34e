"""The ``evaluate`` stage: score the saved model on the test split at its saved threshold.

Writes ``metrics/evaluate.json`` and ``metrics/segments.json`` (DVC metrics),
``plots/{roc,precision_recall,confusion,calibration,importance}.json`` (DVC plots declared in
dvc.yaml) and the same plots as PNG images in ``plots/images/`` for reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlops.core.artifacts import (
    IMPORTANCE,
    METRICS,
    PLOT_IMAGES,
    PLOTS_DIR,
    SEGMENTS,
    TARGET,
    feature_frame,
    read_prepared,
    write_json,
)
from mlops.core.results import Evaluation
from mlops.tasks.binary import BINARY, THRESHOLD

if TYPE_CHECKING:
    from mlops.core.config import Params

MAX_CURVE_POINTS = 200


def _thin(points: list[dict[str, float]], limit: int = MAX_CURVE_POINTS) -> list[dict[str, float]]:
    """Keep at most ``limit`` points, always including both ends of the curve."""
    if len(points) <= limit:
        return points
    idx = np.unique(np.linspace(0, len(points) - 1, limit).round().astype(int))
    return [points[i] for i in idx]


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
                "bin_low": round(float(edges[b]), 6),
                "bin_high": round(float(edges[b + 1]), 6),
                "mean_predicted": round(float(p[mask].mean()), 6),
                "fraction_positive": round(float(y[mask].mean()), 6),
                "count": int(mask.sum()),
            }
        )
    return rows


def segment_labels(segments: Any) -> np.ndarray:
    """A segment column's values as labels, a missing value as ``(missing)``."""
    import pandas as pd

    return pd.Series(segments).astype("string").fillna("(missing)").to_numpy(dtype=str)


def segment_metrics(
    y_true: Any, proba: Any, segments: Any, threshold: float
) -> dict[str, dict[str, float]]:
    """The metrics per value of a categorical column (ROC/PR-AUC only where both classes occur)."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(proba, dtype="float64")
    values = segment_labels(segments)
    out: dict[str, dict[str, float]] = {}
    for value in sorted(set(values)):
        mask = values == value
        ys, ps = y[mask], p[mask]
        metrics = (
            BINARY.compute(ys, ps, threshold)
            if len(set(ys)) == 2
            else _one_class(ys, ps, threshold)
        )
        out[value] = {
            "rows": int(mask.sum()),
            "positive_rate": round(float(ys.mean()), 6),
            **metrics,
        }
    return out


def _one_class(y: Any, p: Any, threshold: float) -> dict[str, float]:
    """Metrics that are defined when a segment holds only one class."""
    predicted = (p >= threshold).astype(int)
    return {
        "accuracy": round(float((predicted == y).mean()), 6),
        "brier": round(float(np.mean((p - y) ** 2)), 6),
    }


def recorded_importance(model: Any, test: Any, params: Params) -> list[dict[str, float | str]]:
    """The permutation importance ``evaluate`` records for ``model`` on a prepared test split,
    with params.yaml's ``evaluate`` settings (the PR report uses the same)."""
    settings = params.evaluate
    return permutation_importance(
        model,
        feature_frame(test, params),
        test[TARGET].to_numpy(),
        repeats=settings.importance_repeats,
        seed=settings.seed,
        max_rows=settings.importance_max_rows,
    )


def permutation_importance(
    model: Any, x: Any, y: Any, *, repeats: int, seed: int, max_rows: int | None = None
) -> list[dict[str, float | str]]:
    """Drop in test ROC-AUC when one raw input column is shuffled (mean and std over repeats).

    With ``max_rows``, on a seeded random sample of that many rows (stratified by ``y``), so
    its cost (repeats x columns predictions) stops growing with the test split.
    """
    from sklearn.inspection import permutation_importance as sk_permutation_importance

    if max_rows is not None and len(x) > max_rows:
        from sklearn.model_selection import train_test_split

        x, _, y, _ = train_test_split(x, y, train_size=max_rows, random_state=seed, stratify=y)

    result = sk_permutation_importance(
        model, x, y, scoring="roc_auc", n_repeats=repeats, random_state=seed, n_jobs=1
    )
    rows: list[dict[str, float | str]] = [
        {
            "feature": str(name),
            "importance": round(float(mean), 6),
            "std": round(float(std), 6),
        }
        for name, mean, std in zip(
            x.columns, result.importances_mean, result.importances_std, strict=True
        )
    ]
    return sorted(rows, key=lambda r: (-float(r["importance"]), str(r["feature"])))


def evaluate(
    y_true: Any, proba: Any, threshold: float = THRESHOLD, calibration_bins: int = 10
) -> Evaluation:
    """Metrics and plot data for one set of predictions at ``threshold`` (pure)."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype="float64")
    fpr, tpr, roc_thr = roc_curve(y_true, proba)
    roc = [
        {
            "fpr": round(float(f), 6),
            "tpr": round(float(t), 6),
            "threshold": round(float(min(h, 1.0)), 6),
        }
        for f, t, h in zip(fpr, tpr, roc_thr, strict=True)
    ]
    precision, recall, pr_thr = precision_recall_curve(y_true, proba)
    pr = [
        {
            "recall": round(float(r), 6),
            "precision": round(float(p), 6),
            "threshold": round(float(pr_thr[min(i, len(pr_thr) - 1)]), 6),
        }
        for i, (p, r) in enumerate(zip(precision, recall, strict=True))
    ]
    predicted = (proba >= threshold).astype(int)
    confusion = [
        {"actual": int(a), "predicted": int(p)} for a, p in zip(y_true, predicted, strict=True)
    ]
    return Evaluation(
        metrics=BINARY.compute(y_true, proba, threshold),
        roc=_thin(roc),
        precision_recall=_thin(pr),
        confusion=confusion,
        calibration=calibration(y_true, proba, calibration_bins),
        threshold=float(threshold),
    )


def run(
    params: Params,
    metrics_file: Path = METRICS,
    plots_dir: Path = PLOTS_DIR,
    segments_file: Path = SEGMENTS,
) -> Evaluation:
    """CLI wrapper: the model + the test split -> metrics, plots and images."""
    from mlops.stages import train as train_mod
    from mlops.stages.plots import render_images

    model = train_mod.load()
    test = read_prepared("test")
    x = feature_frame(test, params)
    y = test[TARGET].to_numpy()
    proba = model.predict_proba(x)[:, 1]
    settings = params.evaluate
    result = evaluate(y, proba, model.threshold_, settings.calibration_bins)
    segments: dict[str, Any] = {}
    if settings.segment_column is not None:
        segments = {
            settings.segment_column: segment_metrics(
                y, proba, test[settings.segment_column], model.threshold_
            )
        }
    importance = recorded_importance(model, test, params)
    write_json(metrics_file, result.metrics)
    write_json(segments_file, segments)
    plots = {
        "roc": result.roc,
        "precision_recall": result.precision_recall,
        "confusion": result.confusion,
        "calibration": result.calibration,
        "importance": importance,
    }
    for name, points in plots.items():
        write_json(plots_dir / f"{name}.json", points)
    images = render_images(result, importance, plots_dir / PLOT_IMAGES.name)

    mlflow_run = train_mod.load_mlflow_run()
    logged = False
    if mlflow_run is not None:
        from mlops.tracking.runs import log_evaluation

        logged = log_evaluation(
            params,
            mlflow_run,
            result.metrics,
            artifacts={
                SEGMENTS.name: segments,
                IMPORTANCE.name: importance,
                "calibration.json": result.calibration,
            },
            images_dir=images,
        )
    if not logged:
        print("evaluate: the model's MLflow run is not in this store; test metrics not logged")
    summary = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
    print(f"evaluate: {len(test)} test rows at threshold {model.threshold_:.4f}: {summary}")
    return result
