"""The scikit-learn compatible Keras MLPs, a classifier (binary: one sigmoid output; multiclass:
a softmax over the classes) and a regressor (one linear output on the standardised target),
importing TensorFlow only when used.

Kept apart from :mod:`mlops.models.keras_mlp` so that reading params.yaml never imports it.
A saved pipeline refers to this module: loading ``models/model.joblib`` needs it (and
TensorFlow), nothing else from the training code.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin


def _tensorflow(device: str) -> Any:
    """Import TensorFlow quietly, configured for ``device`` (hide GPUs on the CPU path)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ logs: errors surface as exceptions
    import tensorflow as tf

    if device != "cuda":
        # RuntimeError: TensorFlow already initialised its devices in this process.
        with contextlib.suppress(RuntimeError):
            tf.config.set_visible_devices([], "GPU")
    return tf


class _KerasMLP(BaseEstimator):
    """Dense(ReLU) blocks with dropout, the task's output head, early stopping on validation."""

    regression = False

    def __init__(
        self,
        hidden_units: tuple[int, ...] = (32, 16),
        dropout: float = 0.1,
        l2: float = 1e-4,
        learning_rate: float = 1e-3,
        batch_size: int = 128,
        max_epochs: int = 60,
        patience: int = 8,
        class_weight: str | None = None,
        validation_fraction: float = 0.2,
        device: str = "cpu",
        random_state: int = 0,
    ) -> None:
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.l2 = l2
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.class_weight = class_weight
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state

    def _head(self, keras: Any) -> tuple[Any, str, list[Any]]:
        """The output layer, the loss and the metrics (binary classifier; overridden below)."""
        output = keras.layers.Dense(1, activation="sigmoid", name="positive")
        return output, "binary_crossentropy", [keras.metrics.AUC(name="auc")]

    def _build_network(self, n_features: int) -> Any:
        import keras

        inputs = keras.Input(shape=(n_features,), name="features")
        x = inputs
        for i, units in enumerate(self.hidden_units):
            x = keras.layers.Dense(
                units,
                activation="relu",
                kernel_regularizer=keras.regularizers.l2(self.l2) if self.l2 else None,
                name=f"dense_{i}",
            )(x)
            if self.dropout:
                x = keras.layers.Dropout(self.dropout, name=f"dropout_{i}")(x)
        head, loss, metrics = self._head(keras)
        model = keras.Model(inputs, head(x), name="mlp")
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=self.learning_rate),
            loss=loss,
            metrics=metrics,
        )
        return model

    def _target(self, y: Any) -> np.ndarray:
        """What the network fits for labels ``y`` (set up by :meth:`_learn_target`)."""
        raise NotImplementedError

    def _learn_target(self, y: np.ndarray) -> None:
        raise NotImplementedError

    def _weights(self, target: np.ndarray) -> dict[int, float] | None:
        return None

    def fit(self, x_in: Any, y: Any, validation_data: tuple[Any, Any] | None = None) -> Any:
        tf = _tensorflow(self.device)
        import keras

        x = np.asarray(x_in, dtype="float32")
        self._learn_target(np.asarray(y))
        target = self._target(y)
        if validation_data is None:
            from sklearn.model_selection import train_test_split

            x, x_val, target, y_val = train_test_split(
                x,
                target,
                test_size=self.validation_fraction,
                random_state=self.random_state,
                stratify=None if self.regression else target,
            )
        else:
            x_val = np.asarray(validation_data[0], dtype="float32")
            y_val = self._target(validation_data[1])

        keras.utils.set_random_seed(self.random_state)
        if self.device != "cuda":
            tf.config.experimental.enable_op_determinism()
        model = self._build_network(x.shape[1])
        stop = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=self.patience, restore_best_weights=True
        )
        history = model.fit(
            x,
            target,
            validation_data=(x_val, y_val),
            epochs=self.max_epochs,
            batch_size=self.batch_size,
            class_weight=self._weights(target),
            callbacks=[stop],
            shuffle=True,
            verbose=0,
        )
        self.model_ = model
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        self.n_epochs_ = len(history.history["loss"])
        self.best_epoch_ = int(np.argmin(history.history["val_loss"])) + 1
        self.n_features_in_ = x.shape[1]
        return self

    def _network_output(self, x_in: Any) -> np.ndarray:
        x = np.asarray(x_in, dtype="float32")
        return np.asarray(self.model_(x, training=False)).astype("float64")

    # -- pickling: the Keras model travels as .keras bytes ---------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        model = state.pop("model_", None)
        if model is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "model.keras"
                model.save(path)
                state["model_keras_bytes_"] = path.read_bytes()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        blob = state.pop("model_keras_bytes_", None)
        super().__setstate__(state)
        if blob is not None:
            _tensorflow("cuda")  # serving may use a GPU if it has one
            import keras

            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "model.keras"
                path.write_bytes(blob)
                self.model_ = keras.saving.load_model(path, compile=False)


class KerasMLPClassifier(ClassifierMixin, _KerasMLP):
    """Binary (one sigmoid output) or multiclass (a softmax over the classes) classifier."""

    def _learn_target(self, y: np.ndarray) -> None:
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"KerasMLPClassifier needs two classes or more; found {self.classes_}")

    def _target(self, y: Any) -> np.ndarray:
        y_arr = np.asarray(y)
        if len(self.classes_) == 2:
            return (y_arr == self.classes_[1]).astype("float32")
        return np.searchsorted(self.classes_, y_arr).astype("int64")

    def _head(self, keras: Any) -> tuple[Any, str, list[Any]]:
        if len(self.classes_) == 2:
            return super()._head(keras)
        output = keras.layers.Dense(len(self.classes_), activation="softmax", name="classes")
        return output, "sparse_categorical_crossentropy", []

    def _weights(self, target: np.ndarray) -> dict[int, float] | None:
        if self.class_weight != "balanced":
            return None
        counts = np.bincount(target.astype(int), minlength=len(self.classes_))
        return {k: len(target) / (len(counts) * max(int(c), 1)) for k, c in enumerate(counts)}

    def predict_proba(self, x_in: Any) -> Any:
        out = self._network_output(x_in)
        if len(self.classes_) == 2:
            positive = out.reshape(-1)
            return np.column_stack([1.0 - positive, positive])
        return out

    def predict(self, x_in: Any) -> Any:
        return self.classes_[self.predict_proba(x_in).argmax(axis=1)]


class KerasMLPRegressor(RegressorMixin, _KerasMLP):
    """Regressor: one linear output, fitted on the standardised target (mean squared error)."""

    regression = True

    def _learn_target(self, y: np.ndarray) -> None:
        values = y.astype("float64")
        self.target_mean_ = float(values.mean())
        self.target_scale_ = float(values.std()) or 1.0

    def _target(self, y: Any) -> np.ndarray:
        values = np.asarray(y, dtype="float64")
        return ((values - self.target_mean_) / self.target_scale_).astype("float32")

    def _head(self, keras: Any) -> tuple[Any, str, list[Any]]:
        return keras.layers.Dense(1, name="prediction"), "mse", []

    def predict(self, x_in: Any) -> Any:
        out = self._network_output(x_in).reshape(-1)
        return out * self.target_scale_ + self.target_mean_
