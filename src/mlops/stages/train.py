"""The ``train`` stage: fit preprocessing + model as one scikit-learn Pipeline and save it.

A validation split is carved (seeded; stratified for a classifier) from the training split: the
pipeline is fitted on the rest, the model family may use the validation split for early
stopping and learning curves, and a binary model's decision threshold is chosen on it. The
saved artifact is a :class:`mlops.models.fitted.FittedModel`: the fitted pipeline, its task,
labels and (binary) threshold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core.artifacts import (
    MLFLOW_RUN,
    MODEL,
    MODEL_DIR,
    TARGET,
    TRAIN_INFO,
    feature_frame,
    file_md5,
    labels_of,
    read_prepared,
    write_json,
)
from mlops.core.device import resolve_device, visible_gpus
from mlops.core.errors import ArtifactError
from mlops.core.results import TrainResult
from mlops.models import MODEL_FAMILIES, BuildContext
from mlops.models.features import build_preprocessor
from mlops.models.fitted import FittedModel
from mlops.tasks import task_of
from mlops.threshold import choose_threshold

if TYPE_CHECKING:
    import pandas as pd

    from mlops.core.config import Params


def build_pipeline(params: Params, device: str) -> Any:
    from sklearn.pipeline import Pipeline

    family = MODEL_FAMILIES[params.model_type]
    context = BuildContext(seed=params.train.seed, device=device, task=params.data.task)
    return Pipeline(
        [
            (
                "preprocess",
                build_preprocessor(params.features, scale_numeric=family.scale_numeric),
            ),
            ("model", family.build(params.model_params, context)),
        ]
    )


def fit(train: pd.DataFrame, params: Params, *, device: str | None = None) -> TrainResult:
    """Fit the configured pipeline on the prepared training frame (pure: no file I/O)."""
    from sklearn.model_selection import train_test_split

    resolved = device or resolve_device(params.train.device)
    task = task_of(params)
    family = MODEL_FAMILIES[params.model_type]
    pipeline = build_pipeline(params, resolved)
    x = feature_frame(train, params)
    y = train[TARGET].to_numpy()
    x_fit, x_val, y_fit, y_val = train_test_split(
        x,
        y,
        test_size=params.train.validation_size,
        random_state=params.train.seed,
        stratify=y if task.classification else None,
    )
    # Fit the preprocessing on the fitting part only, then the estimator through its family's
    # hook, which sees the (preprocessed) validation split for early stopping / curves.
    preprocess = pipeline.named_steps["preprocess"]
    x_fit_t = preprocess.fit_transform(x_fit, y_fit)
    curves = family.fit(
        pipeline.named_steps["model"], x_fit_t, y_fit, preprocess.transform(x_val), y_val
    )
    if family.for_inference is not None:
        family.for_inference(pipeline.named_steps["model"])
    val_scores = task.scores(pipeline, x_val)
    threshold, choice = None, {}
    if task.name == "binary":
        chosen = params.train.threshold
        threshold = choose_threshold(y_val, val_scores, chosen.method, chosen.target_recall)
        choice = {
            "method": chosen.method,
            **({"target_recall": chosen.target_recall} if chosen.method == "recall" else {}),
        }
    model = FittedModel(pipeline, task.name, tuple(labels_of(train)), threshold)
    model.fit(x_val, y_val)
    model.threshold_info_ = {**choice, "validation_rows": len(y_val)}
    if not task.classification:  # batch scoring's summary histogram spans it
        model.target_range_ = (float(y.min()), float(y.max()))
    return TrainResult(
        model=model,
        device=resolved,
        train_metrics=task.compute(y_fit, task.scores(pipeline, x_fit), threshold),
        validation_metrics=task.compute(y_val, val_scores, threshold),
        curves=curves,
    )


def save(result: TrainResult, model_dir: Path = MODEL_DIR) -> Path:
    import joblib

    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / MODEL.name
    tmp = path.with_suffix(".tmp")
    joblib.dump(result.model, tmp)
    tmp.replace(path)
    write_json(model_dir / TRAIN_INFO.name, result.info)
    return path


def load(model_dir: Path = MODEL_DIR) -> FittedModel:
    """The saved model: ``scores``, ``outputs``, ``pipeline``, ``threshold_``, ``labels_``."""
    import joblib

    path = model_dir / MODEL.name
    if not path.exists():
        raise ArtifactError(f"{path} does not exist; run `mlops train` (or `dvc repro`) first")
    model = joblib.load(path)
    if not isinstance(model, FittedModel):
        raise ArtifactError(
            f"{path} holds a {type(model).__name__}, not a model saved by this version of "
            "`mlops train`; retrain it (`dvc repro --force train`)"
        )
    return model


def load_mlflow_run(model_dir: Path = MODEL_DIR) -> dict[str, Any] | None:
    """The MLflow run that logged the model now in ``model_dir``, if this machine logged it."""
    path = model_dir / MLFLOW_RUN.name
    model = model_dir / MODEL.name
    if not path.exists() or not model.exists():
        return None
    run = json.loads(path.read_text(encoding="utf-8"))
    if run.get("model_md5") != file_md5(model):
        return None
    return run


def run(params: Params, model_dir: Path = MODEL_DIR, *, track: bool = True) -> TrainResult:
    """CLI wrapper: the train split -> the model file (+ its MLflow run)."""
    resolved = resolve_device(params.train.device)  # fail fast: `cuda` without a GPU is exit 2
    train = read_prepared("train")
    result = fit(train, params, device=resolved)
    gpus = visible_gpus() if resolved == "cuda" else []
    result.info = {
        "model_type": params.model_type,
        "device": resolved,
        "gpu": gpus[0] if gpus else None,
        "features": params.features.used,
        "train_rows": len(train),
        "validation_rows": result.model.threshold_info_["validation_rows"],
        "task": params.data.task,
        "labels": result.model.labels_,
        "threshold": None if result.threshold is None else round(result.threshold, 6),
        "threshold_choice": result.model.threshold_info_,
        "iterations": max((len(v) for v in result.curves.values()), default=None),
        "train_metrics": result.train_metrics,
        "validation_metrics": result.validation_metrics,
    }
    (model_dir / MLFLOW_RUN.name).unlink(missing_ok=True)
    mlflow_run = None
    if track:
        from mlops.tracking.runs import log_training

        mlflow_run = log_training(params, result, train)
    path = save(result, model_dir)
    if mlflow_run is not None:
        mlflow_run["model_md5"] = file_md5(path)
        write_json(model_dir / MLFLOW_RUN.name, mlflow_run)
    headline = task_of(params).headline
    cut = (
        ""
        if result.threshold is None
        else f", threshold {result.threshold:.4f} ({params.train.threshold.method})"
    )
    print(
        f"train: {params.model_type} on {resolved}, {len(train)} rows, validation {headline} "
        f"{result.validation_metrics[headline]:.4f}{cut}"
    )
    return result
