"""The scikit-learn compatible Keras MLP classifier (imports TensorFlow only when used).

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
from sklearn.base import BaseEstimator, ClassifierMixin


def _tensorflow(device: str) -> Any:
    """Import TensorFlow quietly, configured for ``device`` (hide GPUs on the CPU path)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ logs: errors surface as exceptions
    import tensorflow as tf

    if device != "cuda":
        # RuntimeError: TensorFlow already initialised its devices in this process.
        with contextlib.suppress(RuntimeError):
            tf.config.set_visible_devices([], "GPU")
    return tf


class KerasMLPClassifier(ClassifierMixin, BaseEstimator):
    """Binary classifier: Dense(ReLU) blocks with dropout, a sigmoid output, early stopping."""

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
        outputs = keras.layers.Dense(1, activation="sigmoid", name="positive")(x)
        model = keras.Model(inputs, outputs, name="mlp")
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=self.learning_rate),
            loss="binary_crossentropy",
            metrics=[keras.metrics.AUC(name="auc")],
        )
        return model

    def fit(
        self, x_in: Any, y: Any, validation_data: tuple[Any, Any] | None = None
    ) -> KerasMLPClassifier:
        tf = _tensorflow(self.device)
        import keras

        x = np.asarray(x_in, dtype="float32")
        y_arr = np.asarray(y)
        self.classes_ = np.unique(y_arr)
        if len(self.classes_) != 2:
            raise ValueError(f"KerasMLPClassifier is binary; found classes {self.classes_}")
        target = (y_arr == self.classes_[1]).astype("float32")
        if validation_data is None:
            from sklearn.model_selection import train_test_split

            x, x_val, target, y_val = train_test_split(
                x,
                target,
                test_size=self.validation_fraction,
                random_state=self.random_state,
                stratify=target,
            )
        else:
            x_val = np.asarray(validation_data[0], dtype="float32")
            y_val = (np.asarray(validation_data[1]) == self.classes_[1]).astype("float32")

        keras.utils.set_random_seed(self.random_state)
        if self.device != "cuda":
            tf.config.experimental.enable_op_determinism()
        weights = None
        if self.class_weight == "balanced":
            positives = float(target.mean())
            weights = {0: 0.5 / (1.0 - positives), 1: 0.5 / positives}
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
            class_weight=weights,
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

    def predict_proba(self, x_in: Any) -> Any:
        x = np.asarray(x_in, dtype="float32")
        positive = np.asarray(self.model_(x, training=False)).reshape(-1).astype("float64")
        return np.column_stack([1.0 - positive, positive])

    def predict(self, x_in: Any) -> Any:
        return self.classes_[(self.predict_proba(x_in)[:, 1] >= 0.5).astype(int)]

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
