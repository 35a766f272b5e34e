"""The train stage's artifact, for every task: ``models/model.joblib`` holds a
:class:`FittedModel`, the fitted scikit-learn ``Pipeline`` (preprocessing + estimator) and what
the task needs to turn its scores into outputs: the labels (the class values as in the data)
and, for ``binary``, the decision threshold chosen on the validation split.

Batch scoring, the MLflow pyfunc and the service all call :meth:`FittedModel.outputs`, so
they answer with the one output contract of the task (``mlops.tasks``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator

if TYPE_CHECKING:
    from mlops.tasks.base import Task


class FittedModel(BaseEstimator):
    """A fitted pipeline and its task (prefit: :meth:`fit` only records attributes).

    Attributes: ``pipeline``, ``task`` (a ``data.task`` value), ``labels_`` (class values as
    in the data, index i is class i; empty for regression), ``threshold_`` (binary: the
    decision threshold; else None), ``feature_names_in_`` (the raw input columns),
    ``threshold_info_`` (how the threshold was chosen) and, for regression, ``target_range_``
    (the training target's smallest and largest value).
    """

    def __init__(
        self,
        pipeline: Any = None,
        task: str = "binary",
        labels: tuple[str, ...] = (),
        threshold: float | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.task = task
        self.labels = labels
        self.threshold = threshold

    def fit(self, x_in: Any, y: Any = None) -> FittedModel:
        """Only records the fitted pipeline's attributes; the pipeline itself is not refitted."""
        self.threshold_ = None if self.threshold is None else float(self.threshold)
        self.labels_ = [str(label) for label in self.labels]
        names = getattr(self.pipeline, "feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = names
        self.n_features_in_ = len(names) if names is not None else np.shape(x_in)[1]
        self.threshold_info_: dict[str, Any] = {}
        return self

    @property
    def task_(self) -> Task:
        from mlops.tasks import TASKS

        return TASKS[self.task]

    @property
    def named_steps(self) -> Any:
        return self.pipeline.named_steps

    def scores(self, x_in: Any) -> np.ndarray:
        """What the task's metrics are computed from (``Task.scores``)."""
        return self.task_.scores(self.pipeline, x_in)

    def outputs(self, x_in: Any) -> dict[str, np.ndarray]:
        """The task's output columns for these rows (``Task.outputs``)."""
        return self.outputs_of(self.scores(x_in))

    def outputs_of(self, scores: np.ndarray) -> dict[str, np.ndarray]:
        """The task's output columns for scores of :meth:`scores`."""
        return self.task_.outputs(scores, self.threshold_, self.labels_)

    def output_fields(self) -> dict[str, dict[str, Any]]:
        return self.task_.output_fields(self.labels_)

    def predict_proba(self, x_in: Any) -> Any:
        return self.pipeline.predict_proba(x_in)

    def predict(self, x_in: Any) -> Any:
        """A classifier's label (as in the data), a regressor's prediction."""
        outputs = self.outputs(x_in)
        return outputs["label"] if self.task_.classification else next(iter(outputs.values()))
