"""The ``train`` stage: fit preprocessing + model as one scikit-learn Pipeline and save it.

A validation split is carved (stratified, seeded) from the training split: the pipeline is
fitted on the rest, the model family may use the validation split for early stopping and
learning curves, and the decision threshold is chosen on it. The saved artifact is a
:class:`mlops.threshold.ThresholdedModel`: the fitted pipeline plus its threshold.
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
    read_prepared,
    write_json,
)
from mlops.core.device import resolve_device, visible_gpus
from mlops.core.errors import ArtifactError
from mlops.core.results import TrainResult
from mlops.models import MODEL_FAMILIES, BuildContext
from mlops.models.features import build_preprocessor
from mlops.tasks.binary import BINARY
from mlops.threshold import ThresholdedModel, choose_threshold

if TYPE_CHECKING:
    import pandas as pd

    from mlops.core.config import Params


def build_pipeline(params: Params, device: str) -> Any:
    from sklearn.pipeline import Pipeline

    family = MODEL_FAMILIES[params.model_type]
    context = BuildContext(seed=params.train.seed, device=device)
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
    family = MODEL_FAMILIES[params.model_type]
    pipeline = build_pipeline(params, resolved)
    x = feature_frame(train, params)
    y = train[TARGET].to_numpy()
    x_fit, x_val, y_fit, y_val = train_test_split(
        x, y, test_size=params.train.validation_size, random_state=params.train.seed, stratify=y
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
    val_proba = pipeline.predict_proba(x_val)[:, 1]
    chosen = params.train.threshold
    threshold = choose_threshold(y_val, val_proba, chosen.method, chosen.target_recall)
    model = ThresholdedModel(pipeline, threshold).fit(x_val, y_val)
    model.threshold_info_ = {
        "method": chosen.method,
        **({"target_recall": chosen.target_recall} if chosen.method == "recall" else {}),
        "validation_rows": len(y_val),
    }
    fit_proba = pipeline.predict_proba(x_fit)[:, 1]
    return TrainResult(
        model=model,
        device=resolved,
        train_metrics=BINARY.compute(y_fit, fit_proba, threshold),
        validation_metrics=BINARY.compute(y_val, val_proba, threshold),
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


def load(model_dir: Path = MODEL_DIR) -> ThresholdedModel:
    """The saved model: ``predict_proba``, ``predict`` at ``threshold_``, ``pipeline``."""
    import joblib

    path = model_dir / MODEL.name
    if not path.exists():
        raise ArtifactError(f"{path} does not exist; run `mlops train` (or `dvc repro`) first")
    model = joblib.load(path)
    if not isinstance(model, ThresholdedModel):
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
        "threshold": round(result.threshold, 6),
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
    auc = result.validation_metrics["roc_auc"]
    print(
        f"train: {params.model_type} on {resolved}, {len(train)} rows, validation ROC-AUC "
        f"{auc:.4f}, threshold {result.threshold:.4f} ({params.train.threshold.method})"
    )
    return result
