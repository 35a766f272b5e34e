"""Training and evaluation functions on the demo split, for each model family."""

from __future__ import annotations

import numpy as np
import pytest

from mlops.device import resolve_device
from mlops.errors import ConfigError
from mlops.evaluate import evaluate
from mlops.metrics import compute_metrics
from mlops.train import fit


def with_model(params, model_type: str):
    model = params.model.model_copy(update={"type": model_type})
    return params.model_copy(update={"model": model})


@pytest.mark.parametrize("model_type", ["logreg", "xgboost"])
def test_each_family_learns_without_leakage(demo_split, params, model_type):
    p = with_model(params, model_type)
    result = fit(demo_split.train, p, device="cpu")
    proba = result.pipeline.predict_proba(demo_split.test[p.features.used])[:, 1]
    metrics = compute_metrics(demo_split.test["target"], proba)
    assert 0.80 <= metrics["roc_auc"] <= 0.88, metrics
    # The saved pipeline carries its preprocessing: raw columns in, probabilities out.
    assert result.pipeline.steps[0][0] == "preprocess"


@pytest.mark.parametrize("model_type", ["logreg", "xgboost"])
def test_training_is_deterministic(demo_split, params, model_type):
    p = with_model(params, model_type)
    x = demo_split.test[p.features.used]
    a = fit(demo_split.train, p, device="cpu").pipeline.predict_proba(x)
    b = fit(demo_split.train, p, device="cpu").pipeline.predict_proba(x)
    np.testing.assert_array_equal(a, b)


def test_pipeline_handles_unseen_category_and_missing_values(demo_split, params):
    result = fit(demo_split.train, params, device="cpu")
    x = demo_split.test[params.features.used].head(3).copy()
    x.loc[x.index[0], "contract"] = "Ten years"
    x.loc[x.index[1], "total_charges"] = np.nan
    proba = result.pipeline.predict_proba(x)[:, 1]
    assert np.isfinite(proba).all()


def test_metrics_on_known_predictions():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    m = compute_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["precision"] == pytest.approx(0.5)
    assert m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(0.5)
    assert set(m) == {"roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "log_loss"}


def test_evaluation_plot_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    p = np.clip(y * 0.3 + rng.random(5000) * 0.7, 0, 1)
    result = evaluate(y, p)
    assert len(result.roc) <= 200 and len(result.precision_recall) <= 200
    assert result.roc[0]["fpr"] == 0.0 and result.roc[-1]["tpr"] == 1.0
    assert len(result.confusion) == 5000
    assert {"actual", "predicted"} == set(result.confusion[0])


def test_device_auto_is_cpu_without_gpu():
    assert resolve_device("auto", gpus=[]) == "cpu"
    assert resolve_device("auto", gpus=["NVIDIA H100"]) == "cuda"
    assert resolve_device("cpu", gpus=["NVIDIA H100"]) == "cpu"


def test_device_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"train\.device.*no CUDA GPU"):
        resolve_device("cuda", gpus=[])


def test_device_detection_respects_cuda_visible_devices(monkeypatch):
    from mlops.device import visible_gpus

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []
