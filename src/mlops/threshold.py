"""The decision threshold: chosen on a validation split, saved inside the model artifact.

``models/model.joblib`` holds a :class:`ThresholdedModel`: the fitted scikit-learn ``Pipeline``
(preprocessing + estimator) and the threshold chosen for it. ``predict_proba`` returns the
pipeline's probabilities; ``predict`` applies ``threshold_``; so evaluation and serving use the
same cut-off as the one training chose, read from the same file.

This module stays at ``mlops.threshold``: every saved model pickles :class:`ThresholdedModel`
by that import path, so moving it would make every trained and registered model unloadable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

DEFAULT_THRESHOLD = 0.5  # for a model that carries no threshold of its own


def decision_threshold(model: Any) -> float:
    """The cut-off a model's ``label`` uses: its saved ``threshold_``, else 0.5."""
    return float(getattr(model, "threshold_", DEFAULT_THRESHOLD))


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


class ThresholdedModel(ClassifierMixin, BaseEstimator):
    """A fitted binary pipeline and the decision threshold chosen for it (prefit; no ``fit``).

    Attributes: ``pipeline`` (the fitted ``Pipeline``), ``threshold_``, ``classes_``,
    ``feature_names_in_`` (the raw input columns) and ``threshold_info_`` (how it was chosen).
    """

    def __init__(self, pipeline: Any = None, threshold: float = 0.5) -> None:
        self.pipeline = pipeline
        self.threshold = threshold

    def fit(self, x_in: Any, y: Any = None) -> ThresholdedModel:
        """Only records the fitted pipeline's attributes; the pipeline itself is not refitted."""
        self.threshold_ = float(self.threshold)
        self.classes_ = self.pipeline.classes_
        names = getattr(self.pipeline, "feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = names
        self.n_features_in_ = len(names) if names is not None else np.shape(x_in)[1]
        self.threshold_info_: dict[str, Any] = {}
        return self

    @property
    def named_steps(self) -> Any:
        return self.pipeline.named_steps

    def predict_proba(self, x_in: Any) -> Any:
        return self.pipeline.predict_proba(x_in)

    def predict(self, x_in: Any) -> Any:
        positive = self.predict_proba(x_in)[:, 1] >= self.threshold_
        return self.classes_[positive.astype(int)]
