"""The PNG plots of the tasks other than binary (binary's are in :mod:`mlops.stages.plots`):

* multiclass: the confusion matrix normalised by the actual class, one-vs-rest ROC curves;
* regression: predicted against actual values, and the residuals' histogram.

``IMAGES`` draws one model's evaluation (the evaluate stage), ``COMPARISONS`` the PR report's
two models side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlops.stages.plots import figure, save

if TYPE_CHECKING:
    from mlops.core.results import Evaluation


COLORS = ("tab:grey", "tab:blue")  # the baseline, this PR (as in the binary charts)


def normalised_confusion(evaluation: Evaluation) -> np.ndarray:
    """``[actual][predicted]`` shares of each actual class's rows, classes in label order."""
    index = {label: i for i, label in enumerate(evaluation.labels)}
    k = len(evaluation.labels)
    counts = np.zeros((k, k))
    for row in evaluation.confusion:
        counts[index[row["actual"]], index[row["predicted"]]] += 1
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def _confusion_axis(axis: Any, evaluation: Evaluation, title: str) -> None:
    shares = normalised_confusion(evaluation)
    axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ticks = list(range(len(evaluation.labels)))
    for a in ticks:
        for p in ticks:
            color = "white" if shares[a, p] > 0.5 else "black"
            axis.text(p, a, f"{shares[a, p]:.2f}", ha="center", va="center", color=color)
    axis.set_xticks(ticks, evaluation.labels, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(ticks, evaluation.labels, fontsize=8)
    axis.set_xlabel("Predicted")
    axis.set_ylabel("Actual")
    axis.set_title(title, fontsize=10)


def _roc_axis(axis: Any, evaluation: Evaluation) -> None:
    for label in evaluation.labels:
        points = [p for p in evaluation.roc if p["class"] == label]
        if points:
            axis.plot([p["fpr"] for p in points], [p["tpr"] for p in points], label=label)
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axis.set_xlabel("False positive rate")
    axis.set_ylabel("True positive rate")
    axis.legend(loc="lower right", fontsize=8)


def multiclass_images(evaluation: Evaluation, out_dir: Path) -> None:
    fig, ax = figure(f"Confusion matrix (test), accuracy {evaluation.metrics['accuracy']:.3f}")
    _confusion_axis(ax, evaluation, ax.get_title())
    save(fig, out_dir / "confusion.png")
    fig, ax = figure(f"ROC one-vs-rest (test), macro AUC {evaluation.metrics['roc_auc_ovr']:.3f}")
    _roc_axis(ax, evaluation)
    save(fig, out_dir / "roc.png")


def multiclass_comparison(
    candidate: Evaluation, baseline: Evaluation, out_dir: Path, baseline_label: str
) -> dict[str, Path]:
    import matplotlib.pyplot as plt

    path = out_dir / "confusion.png"
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), dpi=100)
    for axis, (label, ev) in zip(axes, _models(candidate, baseline, baseline_label), strict=True):
        _confusion_axis(axis, ev, f"{label} (accuracy {ev.metrics['accuracy']:.3f})")
    save(fig, path)
    return {"confusion": path}


def _points(evaluation: Evaluation) -> tuple[list[float], list[float]]:
    rows = evaluation.plots["predicted_vs_actual"]
    return [p["actual"] for p in rows], [p["predicted"] for p in rows]


def _diagonal(axis: Any, values: list[float]) -> None:
    low, high = min(values), max(values)
    axis.plot([low, high], [low, high], linestyle="--", color="grey", linewidth=1)


def regression_images(evaluation: Evaluation, out_dir: Path) -> None:
    fig, ax = figure(f"Predicted vs actual (test), RMSE {evaluation.metrics['rmse']:.4g}")
    actual, predicted = _points(evaluation)
    ax.scatter(actual, predicted, s=6, alpha=0.5)
    _diagonal(ax, actual + predicted)
    ax.set_xlabel("Actual")
    ax.set_ylabel("Predicted")
    save(fig, out_dir / "predicted_vs_actual.png")
    fig, ax = figure(f"Residuals (test), MAE {evaluation.metrics['mae']:.4g}")
    _residual_bars(ax, evaluation, None)
    save(fig, out_dir / "residuals.png")


def _residual_bars(
    axis: Any, evaluation: Evaluation, label: str | None, color: str = "tab:blue"
) -> None:
    bins = evaluation.plots["residuals"]
    widths = [b["bin_high"] - b["bin_low"] for b in bins]
    axis.bar(
        [b["bin_low"] for b in bins], [b["count"] for b in bins], width=widths, align="edge",
        alpha=0.5, label=label, color=color,
    )  # fmt: skip
    axis.axvline(0, color="grey", linestyle="--", linewidth=1)
    axis.set_xlabel("Residual (predicted - actual)")
    axis.set_ylabel("Rows")


def regression_comparison(
    candidate: Evaluation, baseline: Evaluation, out_dir: Path, baseline_label: str
) -> dict[str, Path]:
    paths = {n: out_dir / f"{n}.png" for n in ("predicted_vs_actual", "residuals")}
    fig, ax = figure("Predicted vs actual (this PR's test split)")
    everything: list[float] = []
    models = list(zip(_models(candidate, baseline, baseline_label), COLORS, strict=True))
    for (label, ev), color in models:
        actual, predicted = _points(ev)
        everything += actual + predicted
        rmse = ev.metrics["rmse"]
        ax.scatter(actual, predicted, s=6, alpha=0.4, color=color, label=f"{label} ({rmse:.4g})")
    _diagonal(ax, everything)
    ax.set_xlabel("Actual")
    ax.set_ylabel("Predicted")
    ax.legend(loc="upper left", title="RMSE", fontsize=8)
    save(fig, paths["predicted_vs_actual"])
    fig, ax = figure("Residuals (this PR's test split)")
    for (label, ev), color in models:
        _residual_bars(ax, ev, label, color)
    ax.legend(loc="upper right", fontsize=8)
    save(fig, paths["residuals"])
    return paths


def _models(
    candidate: Evaluation, baseline: Evaluation, baseline_label: str
) -> list[tuple[str, Evaluation]]:
    return [(baseline_label, baseline), ("this PR", candidate)]


IMAGES: dict[str, Callable[[Evaluation, Path], None]] = {
    "multiclass": multiclass_images,
    "regression": regression_images,
}
COMPARISONS: dict[str, Callable[[Evaluation, Evaluation, Path, str], dict[str, Any]]] = {
    "multiclass": multiclass_comparison,
    "regression": regression_comparison,
}
