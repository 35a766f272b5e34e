"""The binary decision threshold: chosen on a validation split, saved inside the model artifact
(:class:`mlops.models.fitted.FittedModel`), so evaluation and serving use the cut-off training
chose, read from the same file.

This module stays at ``mlops.threshold``: models saved by earlier versions pickle
:class:`ThresholdedModel` by that import path, and every registered pyfunc imports
:func:`decision_threshold` from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlops.models.fitted import FittedModel

DEFAULT_THRESHOLD = 0.5  # for a binary model that carries no threshold of its own


def decision_threshold(model: Any) -> float | None:
    """The cut-off a binary model's ``label`` uses: its saved ``threshold_``, else 0.5; None for
    a model of another task."""
    if getattr(model, "task", "binary") != "binary":
        return None
    threshold = getattr(model, "threshold_", DEFAULT_THRESHOLD)
    return DEFAULT_THRESHOLD if threshold is None else float(threshold)


def choose_threshold(
    y_true: Any, proba: Any, method: str = "f1", target_recall: float = 0.8
) -> float:
    """The cut-off on ``proba`` that maximises F1, or the highest one reaching ``target_recall``.

    Candidates are the distinct predicted probabilities, so the result is deterministic and
    is one of the scores the model actually produced (ties pick the higher threshold).
    """
    from sklearn.metrics import precision_recall_curve

    y = np.asarray(y_true).astype(int)
    p = np.asarray(proba, dtype="float64")
    if y.min() == y.max():
        raise ValueError("the validation split holds only one class; cannot choose a threshold")
    precision, recall, thresholds = precision_recall_curve(y, p)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    if method == "f1":
        denom = precision + recall
        f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
        best = np.flatnonzero(f1 == f1.max())[-1]
        return float(thresholds[best])
    if method == "recall":
        reaching = np.flatnonzero(recall >= target_recall)
        return float(thresholds[reaching[-1]])  # recall falls as the threshold rises
    raise ValueError(f"unknown threshold method {method!r}; allowed: f1, recall")


class ThresholdedModel(FittedModel):
    """The artifact of earlier versions of ``mlops train`` (binary only, labels 0 and 1): kept so
    that registered versions saved before :class:`~mlops.models.fitted.FittedModel` still load
    and answer with the binary output contract. New models are ``FittedModel``s."""

    task = "binary"
    labels_ = ["0", "1"]  # noqa: RUF012 (read only: the labels of every such model)

    def __init__(self, pipeline: Any = None, threshold: float = 0.5) -> None:
        super().__init__(pipeline, "binary", ("0", "1"), threshold)
