"""The comparisons a report is made of, as pure functions: both models scored on one test
split, the params that changed, the rows and columns that changed, curves on a common grid."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops.core.artifacts import TARGET
from mlops.core.config import flatten
from mlops.report.baseline import BaselineError
from mlops.threshold import decision_threshold

if TYPE_CHECKING:
    from mlops.core.config import BootstrapConfig
    from mlops.core.results import Evaluation
    from mlops.report.schema import IntervalDoc
    from mlops.tasks.base import Task

ABSENT = "(absent)"


def score(
    model: Any, test: pd.DataFrame, columns: list[str], label: str, bins: int, task: Task
) -> tuple[Evaluation, np.ndarray]:
    """``model`` on the test split (a binary model at its own saved threshold: the evaluate
    stage's measures), and its scores (for the paired comparison)."""
    from mlops.core.artifacts import labels_of
    from mlops.stages.evaluate import evaluate

    missing = [c for c in columns if c not in test.columns]
    if missing:
        raise BaselineError(
            f"{label}'s model needs column(s) {', '.join(missing)} that this PR's test split "
            "does not have"
        )
    labels = labels_of(test)
    same_classes = task.name != "multiclass" or list(model.labels_) == labels  # index = class
    if getattr(model, "task", None) != task.name or not same_classes:
        raise BaselineError(
            f"{label}'s model predicts data.task {getattr(model, 'task', '?')} with labels "
            f"{list(getattr(model, 'labels_', []))}, this PR's data.task {task.name} with "
            f"labels {labels}: they cannot be compared on one test split"
        )
    scores = model.scores(test[columns])
    y = test[TARGET].to_numpy()
    threshold = decision_threshold(model)  # None outside binary
    return evaluate(y, scores, threshold, bins, task=task, labels=labels), scores


def params_diff(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """Changed leaves (dotted keys) of two params documents; lists compare as a whole."""
    if old is None:
        return []
    a, b = flatten(old), flatten(new)
    rows = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, ABSENT) != b.get(key, ABSENT):
            rows.append({"param": key, "old": a.get(key, ABSENT), "new": b.get(key, ABSENT)})
    return rows


def _kind(column: pd.Series) -> str:
    values = column.dropna().astype(str).str.strip()
    values = values[values != ""]
    if values.empty:
        return "empty"
    numeric = pd.to_numeric(values, errors="coerce")
    return "numeric" if numeric.notna().all() else "text"


def data_diff(old: pd.DataFrame | None, new: pd.DataFrame, id_column: str | None) -> dict[str, Any]:
    """Rows added/removed (by the id column, else by whole-row content) and schema changes."""
    if old is None:
        return {"available": False, "rows": {"current": len(new)}}
    if id_column and id_column in old.columns and id_column in new.columns:
        old_keys, new_keys = set(old[id_column].astype(str)), set(new[id_column].astype(str))
        key = f"id column {id_column!r}"
    else:
        shared = [c for c in new.columns if c in old.columns]
        old_keys = set(old[shared].astype(str).agg("\x1f".join, axis=1))
        new_keys = set(new[shared].astype(str).agg("\x1f".join, axis=1))
        key = "row content"
    shared_columns = [c for c in new.columns if c in old.columns]
    changed_kind = [
        {"column": c, "old": _kind(old[c]), "new": _kind(new[c])}
        for c in shared_columns
        if _kind(old[c]) != _kind(new[c])
    ]
    return {
        "available": True,
        "matched_by": key,
        "rows": {
            "baseline": len(old),
            "current": len(new),
            "added": len(new_keys - old_keys),
            "removed": len(old_keys - new_keys),
        },
        "schema": {
            "added_columns": [c for c in new.columns if c not in old.columns],
            "removed_columns": [c for c in old.columns if c not in new.columns],
            "changed_types": changed_kind,
        },
    }


def resample(xs: list[float], ys: list[float], grid: np.ndarray) -> list[float]:
    """``ys`` at the ``grid`` points (curves with repeated x keep their highest y there)."""
    frame = pd.DataFrame({"x": xs, "y": ys}).groupby("x", as_index=False)["y"].max()
    return [round(float(v), 3) for v in np.interp(grid, frame["x"], frame["y"])]


def curves_on_grid(evaluation: Evaluation, grid: np.ndarray) -> tuple[list[float], list[float]]:
    """The ROC and precision-recall curves of ``evaluation`` at the ``grid`` points."""
    roc = resample([p["fpr"] for p in evaluation.roc], [p["tpr"] for p in evaluation.roc], grid)
    pr = resample(
        [p["recall"] for p in evaluation.precision_recall],
        [p["precision"] for p in evaluation.precision_recall],
        grid,
    )
    return roc, pr


def uncertainty(
    y: Any,
    baseline: Any,
    candidate: Any,
    *,
    thresholds: tuple[float | None, float | None],
    settings: BootstrapConfig,
    task: Task | None = None,
    labels: list[str] | None = None,
    metrics: dict[str, float] | None = None,
    segments: Any = None,
) -> tuple[dict[str, IntervalDoc], list[dict[str, Any]]]:
    """The paired bootstrap of every metric of ``task`` (binary unless given): its difference
    on the whole test split and, with ``segments`` (one value per row of a categorical
    column), on each segment's rows."""
    from functools import partial

    from mlops.report.bootstrap import paired
    from mlops.tasks.binary import BINARY

    task = task or BINARY
    labels = labels if labels is not None else ["0", "1"]
    bootstrap = partial(
        paired,
        task,
        thresholds=thresholds,
        resamples=settings.resamples,
        confidence=settings.confidence,
        seed=settings.seed,
    )
    y, base_p, cand_p = (np.asarray(a) for a in (y, baseline, candidate))
    whole = bootstrap(y, base_p, cand_p, metrics=metrics)
    by_segment: list[dict[str, Any]] = []
    if segments is not None:
        from mlops.stages.evaluate import segment_labels

        values = segment_labels(segments)
        for value in sorted(set(values)):
            rows = values == value
            by_segment.append(
                {
                    "value": str(value),
                    "rows": int(rows.sum()),
                    "target": task.summarise_target(y[rows], labels),
                    "intervals": bootstrap(y[rows], base_p[rows], cand_p[rows]),
                }
            )
    return whole, by_segment
