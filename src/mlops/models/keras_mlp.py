"""A small Keras multi-layer perceptron on TensorFlow (the ``keras`` family).

The estimator itself lives in :mod:`mlops.models.keras_estimator` and is imported inside
``build``: choosing another family (or loading params.yaml) never imports scikit-learn's
estimator machinery, Keras or TensorFlow. The wrapper

* trains with early stopping on a validation split (the one the train stage passes in, or one
  it carves itself), restoring the best epoch's weights;
* is seeded (``keras.utils.set_random_seed``) and, on the CPU, deterministic
  (``tf.config.experimental.enable_op_determinism``);
* runs on the GPU when the resolved device is ``cuda`` and hides GPUs from TensorFlow otherwise;
* pickles by serialising the Keras model to ``.keras`` bytes, so ``joblib`` saves the whole
  scikit-learn pipeline as one file and loading it needs only this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlops.models.space import Dimension

if TYPE_CHECKING:
    from mlops.models.context import BuildContext


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hidden_units: list[int] = Field(default=[32, 16], min_length=1, max_length=8)
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    l2: float = Field(default=1e-4, ge=0.0, description="L2 penalty on the dense kernels.")
    learning_rate: float = Field(default=1e-3, gt=0.0, le=1.0)
    batch_size: int = Field(default=128, ge=1, le=65_536)
    max_epochs: int = Field(default=60, ge=1, le=10_000)
    patience: int = Field(default=8, ge=1, le=1_000, description="Early-stopping patience.")
    class_weight: Literal["balanced"] | None = None


# The default search space of `mlops tune` (tune.space.keras in params.yaml replaces it); the
# layer sizes stay as params.yaml sets them unless the space lists choices of them.
SPACE = {
    "learning_rate": Dimension(low=1e-4, high=1e-2, log=True),
    "dropout": Dimension(low=0.0, high=0.5),
    "l2": Dimension(low=1e-6, high=1e-2, log=True),
    "batch_size": Dimension(choices=[64, 128, 256]),
}


def build(params: Params, context: BuildContext) -> Any:
    from mlops.models.keras_estimator import KerasMLPClassifier, KerasMLPRegressor

    common: dict[str, Any] = {
        "hidden_units": tuple(params.hidden_units),
        "dropout": params.dropout,
        "l2": params.l2,
        "learning_rate": params.learning_rate,
        "batch_size": params.batch_size,
        "max_epochs": params.max_epochs,
        "patience": params.patience,
        "device": context.device,
        "random_state": context.seed,
    }
    if context.regression:
        return KerasMLPRegressor(**common)
    return KerasMLPClassifier(class_weight=params.class_weight, **common)


def fit(estimator: Any, x: Any, y: Any, x_val: Any, y_val: Any) -> dict[str, list[float]]:
    """Fit with early stopping on the train stage's validation split; return per-epoch curves."""
    estimator.fit(x, y, validation_data=(x_val, y_val))
    loss = "mse" if getattr(estimator, "regression", False) else "logloss"
    names = {"loss": f"train_{loss}", "auc": "train_auc", "val_loss": f"val_{loss}"}
    return {names.get(k, k): v for k, v in estimator.history_.items()}
