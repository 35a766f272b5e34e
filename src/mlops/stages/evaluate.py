"""The ``evaluate`` stage: score the saved model on the test split (a binary model at its saved
threshold) with the task's metrics.

Writes ``metrics/evaluate.json`` and ``metrics/segments.json`` (DVC metrics), the task's plots
as ``plots/<name>.json`` (binary: roc, precision_recall, confusion, calibration; multiclass:
confusion, roc per class; regression: predicted_vs_actual, residuals; every task: importance;
DVC plots declared in dvc.yaml) and the same plots as PNG images in ``plots/images/``.
"""

from __future__ import annotations

import shutil
import warnings
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
from mlops.stages.importance import recorded_importance
from mlops.tasks import task_of
from mlops.tasks.binary import THRESHOLD

if TYPE_CHECKING:
    from mlops.core.config import Params
    from mlops.tasks.base import Task


def segment_labels(segments: Any) -> np.ndarray:
    """A segment column's values as labels, a missing value as ``(missing)``."""
    import pandas as pd

    return pd.Series(segments).astype("string").fillna("(missing)").to_numpy(dtype=str)


def segment_metrics(
    task: Task,
    y_true: Any,
    scores: Any,
    segments: Any,
    threshold: float | None,
    labels: list[str],
) -> dict[str, dict[str, Any]]:
    """The task's metrics per value of a categorical column, beside the segment's target
    summary (``Task.summarise_target``); a metric a segment's rows cannot define (ROC-AUC of
    one class, R² of one row) is left out."""
    y = np.asarray(y_true)
    values = segment_labels(segments)
    out: dict[str, dict[str, Any]] = {}
    for value in sorted(set(values)):
        mask = values == value
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's warnings about undefined metrics
            metrics = _defined(task, y[mask], np.asarray(scores)[mask], threshold)
        out[value] = {
            "rows": int(mask.sum()),
            **task.summarise_target(y[mask], labels),
            **metrics,
        }
    return out


def _defined(task: Task, y: np.ndarray, scores: np.ndarray, threshold: float | None) -> dict:
    """The metrics of one segment that its rows define."""
    if task.name == "binary" and len(set(y.tolist())) < 2:
        predicted = (scores >= (THRESHOLD if threshold is None else threshold)).astype(int)
        return {
            "accuracy": round(float((predicted == y).mean()), 6),
            "brier": round(float(np.mean((scores - y) ** 2)), 6),
        }
    try:
        metrics = task.compute(y, scores, threshold)
    except ValueError:  # e.g. a multiclass segment of one class: no ranking metric
        metrics = {}
    return {k: v for k, v in metrics.items() if not np.isnan(v)}


def evaluate(
    y_true: Any,
    scores: Any,
    threshold: float | None = THRESHOLD,
    calibration_bins: int = 10,
    *,
    task: Task | None = None,
    labels: list[str] | None = None,
) -> Evaluation:
    """Metrics and plot data for one model's scores on a test split (pure; binary unless
    ``task`` says otherwise)."""
    from mlops.tasks.binary import BINARY

    task = task or BINARY
    y = np.asarray(y_true)
    values = np.asarray(scores, dtype="float64")
    labels = list(labels) if labels is not None else ["0", "1"]
    return Evaluation(
        metrics=task.compute(y, values, threshold),
        plots=task.plot_data(y, values, threshold, labels, calibration_bins),
        threshold=None if threshold is None else float(threshold),
        task=task.name,
        labels=labels,
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
    task = task_of(params)
    test = read_prepared("test")
    y = test[TARGET].to_numpy()
    scores = model.scores(feature_frame(test, params))
    settings = params.evaluate
    result = evaluate(
        y, scores, model.threshold_, settings.calibration_bins, task=task, labels=model.labels_
    )
    segments: dict[str, Any] = {}
    if settings.segment_column is not None:
        segments = {
            settings.segment_column: segment_metrics(
                task, y, scores, test[settings.segment_column], model.threshold_, model.labels_
            )
        }
    importance = recorded_importance(model, test, params)
    write_json(metrics_file, result.metrics)
    write_json(segments_file, segments)
    if plots_dir.exists():  # the plots of another task must not linger
        shutil.rmtree(plots_dir)
    for name, points in {**result.plots, IMPORTANCE.stem: importance}.items():
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
                **({"calibration.json": result.calibration} if result.calibration else {}),
            },
            images_dir=images,
        )
    if not logged:
        print("evaluate: the model's MLflow run is not in this store; test metrics not logged")
    summary = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
    cut = "" if model.threshold_ is None else f" at threshold {model.threshold_:.4f}"
    print(f"evaluate: {len(test)} test rows{cut}: {summary}")
    return result
