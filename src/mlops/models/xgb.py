"""Gradient-boosted trees with XGBoost (``hist``), on CUDA when the resolved device is cuda."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from mlops.models.space import Dimension

if TYPE_CHECKING:
    from mlops.models.context import BuildContext


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n_estimators: int = Field(default=300, ge=1, le=100_000)
    max_depth: int = Field(default=4, ge=1, le=32)
    learning_rate: float = Field(default=0.05, gt=0.0, le=1.0)
    subsample: float = Field(default=0.9, gt=0.0, le=1.0)
    colsample_bytree: float = Field(default=0.8, gt=0.0, le=1.0)
    min_child_weight: float = Field(default=1.0, ge=0.0)
    reg_lambda: float = Field(default=1.0, ge=0.0)
    scale_pos_weight: float = Field(default=1.0, gt=0.0)


# The default search space of `mlops tune` (tune.space.xgboost in params.yaml replaces it);
# scale_pos_weight is left as params.yaml sets it.
SPACE = {
    "n_estimators": Dimension(low=100, high=800, log=True),
    "max_depth": Dimension(low=2, high=10),
    "learning_rate": Dimension(low=0.01, high=0.3, log=True),
    "subsample": Dimension(low=0.5, high=1.0),
    "colsample_bytree": Dimension(low=0.4, high=1.0),
    "min_child_weight": Dimension(low=0.5, high=20.0, log=True),
    "reg_lambda": Dimension(low=1e-3, high=10.0, log=True),
}


def build(params: Params, context: BuildContext) -> Any:
    from xgboost import XGBClassifier, XGBRegressor

    common: dict[str, Any] = {
        "n_estimators": params.n_estimators,
        "max_depth": params.max_depth,
        "learning_rate": params.learning_rate,
        "subsample": params.subsample,
        "colsample_bytree": params.colsample_bytree,
        "min_child_weight": params.min_child_weight,
        "reg_lambda": params.reg_lambda,
        "tree_method": "hist",
        "device": context.device,
        "random_state": context.seed,
    }
    if context.regression:
        return XGBRegressor(eval_metric="rmse", **common)
    if context.task == "multiclass":  # the softmax objective follows from the labels
        return XGBClassifier(eval_metric="mlogloss", **common)
    return XGBClassifier(scale_pos_weight=params.scale_pos_weight, eval_metric="logloss", **common)


def for_inference(estimator: Any) -> Any:
    """A model trained on the GPU predicts on the CPU when served."""
    estimator.set_params(device="cpu")
    return estimator


def fit(estimator: Any, x: Any, y: Any, x_val: Any, y_val: Any) -> dict[str, list[float]]:
    """Fit, evaluating every boosting round on the training and validation splits."""
    estimator.fit(x, y, eval_set=[(x, y), (x_val, y_val)], verbose=False)
    result = estimator.evals_result()
    curves: dict[str, list[float]] = {}
    for split, key in (("train", "validation_0"), ("val", "validation_1")):
        for metric, values in result.get(key, {}).items():
            curves[f"{split}_{metric}"] = [float(v) for v in values]
    return curves
