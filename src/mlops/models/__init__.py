"""Model families: the part of the template a team extends.

A family is one module in this package that defines

* ``Params``: a pydantic model of its hyper-parameters (becomes ``model.<name>`` in
  params.yaml, validated like every other key), and
* ``build(params, context) -> estimator``: an unfitted scikit-learn compatible estimator for
  ``context.task`` (a classifier, or a regressor for ``regression``),
* ``tasks``: the ``data.task`` values it builds an estimator for (the one place that says
  which family supports which task: `mlops check-params` refuses any other pairing),
* ``task_params``: hyper-parameters that apply to some tasks only (e.g. class weights to
  classifiers): set away from their default for another task, they are refused,
* ``SPACE``: the default search space of ``mlops tune`` (:mod:`mlops.models.space`),
* optionally ``fit(estimator, x, y, x_val, y_val) -> curves``: how to fit it when the train
  stage's validation split (already preprocessed) is available, e.g. for early stopping; it
  returns per-iteration learning curves ``{"val_logloss": [...], ...}`` for MLflow,

and is listed in ``MODEL_FAMILIES`` below. Heavy libraries are imported inside ``build`` so
that loading the configuration stays cheap. The training stage wraps the estimator in a
scikit-learn ``Pipeline`` with the preprocessing from ``mlops.models.features``, so the saved
artifact always carries its own preprocessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from mlops.models import keras_mlp, logreg, rf, ridge, xgb
from mlops.models.context import BuildContext
from mlops.models.space import Dimension

__all__ = ["MODEL_FAMILIES", "BuildContext", "ModelFamily"]


Curves = dict[str, list[float]]
CLASSIFIERS = ("binary", "multiclass")
ALL_TASKS = ("binary", "multiclass", "regression")


def fit_plain(estimator: Any, x: Any, y: Any, x_val: Any, y_val: Any) -> Curves:
    """The default: fit on the training part only, no learning curves."""
    estimator.fit(x, y)
    return {}


@dataclass(frozen=True)
class ModelFamily:
    Params: type[BaseModel]
    build: Callable[[Any, BuildContext], Any]
    # Whether numeric features are standardised before the estimator (linear models need it).
    scale_numeric: bool = True
    # The pyproject.toml extra that installs the family's library (None: a core dependency).
    # The workflows install it only where the family is used (`mlops extras`).
    extra: str | None = None
    # Called on the fitted estimator before it is saved, e.g. to move it back to the CPU.
    for_inference: Callable[[Any], Any] | None = None
    # Fits the estimator given the validation split; returns learning curves (see above).
    fit: Callable[[Any, Any, Any, Any, Any], Curves] = fit_plain
    # The data.task values whose estimator ``build`` makes (mlops.tasks); params.yaml naming
    # another task with this family is refused by `mlops check-params`.
    tasks: tuple[str, ...] = ALL_TASKS
    # hyper-parameter -> the tasks it applies to (others must leave it at its default).
    task_params: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # `mlops tune`'s default search space: hyper-parameter -> its range or choices.
    space: dict[str, Dimension] = field(default_factory=dict)

    def applies(self, key: str, task: str) -> bool:
        """Whether hyper-parameter ``key`` means anything for ``task`` (task_params)."""
        return task in self.task_params.get(key, (task,))


MODEL_FAMILIES: dict[str, ModelFamily] = {
    "logreg": ModelFamily(
        Params=logreg.Params,
        space=logreg.SPACE,
        build=logreg.build,
        scale_numeric=True,
        tasks=CLASSIFIERS,
    ),
    "ridge": ModelFamily(
        Params=ridge.Params,
        space=ridge.SPACE,
        build=ridge.build,
        scale_numeric=True,
        tasks=("regression",),
    ),
    "xgboost": ModelFamily(
        Params=xgb.Params,
        space=xgb.SPACE,
        build=xgb.build,
        scale_numeric=False,
        extra="xgboost",
        for_inference=xgb.for_inference,
        fit=xgb.fit,
        task_params={"scale_pos_weight": ("binary",)},
    ),
    "rf": ModelFamily(
        Params=rf.Params,
        space=rf.SPACE,
        build=rf.build,
        scale_numeric=False,
        task_params={"class_weight": CLASSIFIERS},
    ),
    "keras": ModelFamily(
        Params=keras_mlp.Params,
        space=keras_mlp.SPACE,
        build=keras_mlp.build,
        scale_numeric=True,
        extra="keras",
        fit=keras_mlp.fit,
        task_params={"class_weight": CLASSIFIERS},
    ),
}
