"""The ``evaluate`` stage: score the saved pipeline on the test split.

Writes ``metrics/evaluate.json`` (DVC metrics) and ``plots/{roc,precision_recall,confusion}.json``
(DVC plots declared in dvc.yaml).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlops import data as data_mod
from mlops.metrics import THRESHOLD, compute_metrics

if TYPE_CHECKING:
    from mlops.config import Params

METRICS_FILE = Path("metrics/evaluate.json")
PLOTS_DIR = Path("plots")
MAX_CURVE_POINTS = 200


@dataclass
class Evaluation:
    metrics: dict[str, float]
    roc: list[dict[str, float]]
    precision_recall: list[dict[str, float]]
    confusion: list[dict[str, int]]


def _thin(points: list[dict[str, float]], limit: int = MAX_CURVE_POINTS) -> list[dict[str, float]]:
    """Keep at most ``limit`` points, always including both ends of the curve."""
    if len(points) <= limit:
        return points
    idx = np.unique(np.linspace(0, len(points) - 1, limit).round().astype(int))
    return [points[i] for i in idx]


def evaluate(y_true: Any, proba: Any, threshold: float = THRESHOLD) -> Evaluation:
    """Metrics and plot data for one set of predictions (pure)."""
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
        metrics=compute_metrics(y_true, proba, threshold),
        roc=_thin(roc),
        precision_recall=_thin(pr),
        confusion=confusion,
    )


def _write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def run(
    params: Params, metrics_file: Path = METRICS_FILE, plots_dir: Path = PLOTS_DIR
) -> Evaluation:
    """CLI wrapper: models/model.joblib + test.parquet -> metrics and plots files."""
    from mlops import train as train_mod

    pipeline = train_mod.load()
    test = data_mod.read_prepared("test")
    proba = pipeline.predict_proba(data_mod.feature_frame(test, params))[:, 1]
    result = evaluate(test[data_mod.TARGET].to_numpy(), proba)
    _write_json(metrics_file, result.metrics)
    _write_json(plots_dir / "roc.json", result.roc)
    _write_json(plots_dir / "precision_recall.json", result.precision_recall)
    _write_json(plots_dir / "confusion.json", result.confusion)

    mlflow_run = train_mod.load_mlflow_run()
    logged = False
    if mlflow_run is not None:
        from mlops.tracking import log_evaluation

        logged = log_evaluation(params, mlflow_run, result.metrics)
    if not logged:
        print("evaluate: the model's MLflow run is not in this store; test metrics not logged")
    summary = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
    print(f"evaluate: {len(test)} test rows: {summary}")
    return result
