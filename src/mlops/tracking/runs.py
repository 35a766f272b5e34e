"""MLflow tracking: every training run logs params, metrics, the model and its provenance.

The tracking URI comes from ``mlflow.tracking_uri`` in params.yaml (a SQLite file in the
repository by default, so ``mlflow ui --backend-store-uri sqlite:///mlflow.db`` shows it). The
standard ``MLFLOW_TRACKING_URI`` environment variable, when set, takes precedence, so CI can point
at a tracking server with the usual MLflow credentials variables.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core.artifacts import feature_frame, git_commit
from mlops.core.config import flatten
from mlops.tracking import provenance

if TYPE_CHECKING:
    import pandas as pd

    from mlops.core.config import Params
    from mlops.core.results import TrainResult

# No usage telemetry from a template that runs in CI; a user can still opt in explicitly.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# Progress bars are noise in CI logs.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


SERVER_SCHEMES = ("http://", "https://", "databricks")


def tracking_uri(params: Params) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or params.mlflow.tracking_uri


def server_configured(params: Params) -> bool:
    """Whether runs and the registry live on a tracking server (not in a local store)."""
    return tracking_uri(params).startswith(SERVER_SCHEMES)


def configure_mlflow(params: Params) -> Any:
    """Import mlflow pointed at the configured tracking (and registry) URI."""
    import logging

    import mlflow

    # MLflow's INFO lines (environment export, table creation) drown the stage's own output.
    logging.getLogger("mlflow").setLevel(logging.WARNING)

    mlflow.set_tracking_uri(tracking_uri(params))
    return mlflow


def logged_params(params: Params) -> dict[str, Any]:
    """The params that decide the model (the other families' sections are left out)."""
    dumped = params.model_dump(mode="json")
    chosen = {
        "data": {k: dumped["data"][k] for k in ("test_size", "seed", "target", "positive_label")},
        "features": dumped["features"],
        "model": {"type": params.model_type, params.model_type: dumped["model"][params.model_type]},
        "train": dumped["train"],
    }
    # MLflow params are strings: a list (the features) is logged comma-separated.
    return {
        key: ",".join(map(str, value)) if isinstance(value, list) else value
        for key, value in flatten(chosen).items()
    }


def _skops_types(pipeline: Any) -> list[str]:
    """The types skops does not trust by default that our own pipeline contains.

    MLflow saves scikit-learn models with skops (no arbitrary pickle on load); a pipeline we
    just trained ourselves is trusted, so its non-default types are listed explicitly.
    """
    import skops.io

    return list(skops.io.get_untrusted_types(data=skops.io.dumps(pipeline)))


def log_curves(mlflow: Any, curves: dict[str, list[float]]) -> None:
    """Per-iteration (XGBoost) / per-epoch (Keras) learning curves as stepped metrics."""
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    batch = [
        Metric(key=f"curve_{name}", value=float(value), timestamp=now, step=step)
        for name, values in curves.items()
        for step, value in enumerate(values, start=1)
    ]
    client = mlflow.tracking.MlflowClient()
    run_id = mlflow.active_run().info.run_id
    for start in range(0, len(batch), 1000):  # MLflow accepts at most 1000 metrics per batch
        client.log_batch(run_id, metrics=batch[start : start + 1000])


def log_training(params: Params, result: TrainResult, train: pd.DataFrame) -> dict[str, Any]:
    """Log one training run; return where it went (run id, experiment, tracking URI)."""
    mlflow = configure_mlflow(params)
    from mlflow.models import infer_signature

    mlflow.set_experiment(params.mlflow.experiment)
    commit = git_commit()
    data_version = provenance.data_version()
    versions = provenance.package_versions()
    x = feature_frame(train, params)
    example = x.head(5)
    signature = infer_signature(example, result.model.scores(example))
    classifier = result.model.task_.classification
    run_name = f"{params.model_type}-{(commit or 'nogit')[:8]}"
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params(logged_params(params))
        mlflow.log_metrics({f"train_{k}": v for k, v in result.train_metrics.items()})
        mlflow.log_metrics({f"val_{k}": v for k, v in result.validation_metrics.items()})
        if result.threshold is not None:
            mlflow.log_metric("threshold", result.threshold)
        log_curves(mlflow, result.curves)
        tags = {
            "git_commit": commit or "unknown",
            "git_dirty": str(provenance.git_dirty()),
            "data_md5": str(data_version.get("md5")),
            "data_path": str(data_version.get("path")),
            "model_type": params.model_type,
            "device": result.device,
            **{f"version.{name}": version for name, version in versions.items()},
        }
        if result.info.get("gpu"):
            tags["gpu"] = str(result.info["gpu"])
        mlflow.set_tags(tags)
        mlflow.log_dict(params.model_dump(mode="json"), "params.json")
        mlflow.log_dict(versions, "package_versions.json")
        mlflow.log_dict(result.info, "train.json")
        with provenance.requirements_from_here():
            mlflow.sklearn.log_model(
                result.model,
                name="model",
                signature=signature,
                input_example=example,
                pyfunc_predict_fn="predict_proba" if classifier else "predict",
                serialization_format="skops",
                skops_trusted_types=_skops_types(result.model),
                pip_requirements=provenance.model_requirements(params.model_type),
            )
        return {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "tracking_uri": tracking_uri(params),
        }


def log_evaluation(
    params: Params,
    run_info: dict[str, Any],
    metrics: dict[str, float],
    *,
    artifacts: dict[str, Any] | None = None,
    images_dir: Path | None = None,
) -> bool:
    """Add the test metrics (and plots) to the training run; False when it is not in this store.

    ``artifacts`` maps an artifact file name to JSON-able data (segments, importance, ...);
    the PNG files in ``images_dir`` are logged under ``plots/``.
    """
    run_id = run_info.get("run_id")
    if not run_id or run_info.get("tracking_uri") != tracking_uri(params):
        return False
    mlflow = configure_mlflow(params)
    try:
        mlflow.get_run(run_id)
    except Exception:  # the run lives in another store (e.g. restored from the DVC cache)
        return False
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics({f"test_{k}": v for k, v in metrics.items()})
        for name, payload in (artifacts or {}).items():
            mlflow.log_dict(payload, f"evaluation/{name}")
        if images_dir is not None and images_dir.is_dir():
            mlflow.log_artifacts(str(images_dir), artifact_path="plots")
    return True
