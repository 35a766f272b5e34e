"""Training and evaluation functions on the demo split, for each model family."""

from __future__ import annotations

import numpy as np
import pytest

from mlops.core.device import resolve_device
from mlops.core.errors import ConfigError
from mlops.models.fitted import FittedModel
from mlops.stages.evaluate import evaluate, segment_metrics
from mlops.stages.importance import permutation_importance
from mlops.stages.train import fit
from mlops.tasks.binary import BINARY
from mlops.tasks.plotdata import calibration
from mlops.threshold import choose_threshold

from ..conftest import run_env

compute_metrics = BINARY.compute

SKLEARN_FAMILIES = ["logreg", "rf", "xgboost"]


@pytest.fixture
def lr_params(params):
    """The shipped params with the fast logistic regression, whatever params.yaml chooses."""
    return with_model(params, "logreg")


def with_model(params, model_type: str):
    model = params.model.model_copy(update={"type": model_type})
    return params.model_copy(update={"model": model})


@pytest.mark.parametrize("model_type", SKLEARN_FAMILIES)
def test_each_family_learns_without_leakage(demo_split, params, model_type):
    p = with_model(params, model_type)
    result = fit(demo_split.train, p, device="cpu")
    proba = result.model.predict_proba(demo_split.test[p.features.used])[:, 1]
    metrics = compute_metrics(demo_split.test["target"], proba)
    assert 0.80 <= metrics["roc_auc"] <= 0.88, metrics
    # The saved model carries its preprocessing: raw columns in, probabilities out.
    assert isinstance(result.model, FittedModel)
    assert result.pipeline.steps[0][0] == "preprocess"
    assert 0.0 < result.threshold < 1.0
    assert set(result.validation_metrics) == set(result.train_metrics)


@pytest.mark.parametrize("model_type", SKLEARN_FAMILIES)
def test_training_is_deterministic(demo_split, params, model_type):
    p = with_model(params, model_type)
    x = demo_split.test[p.features.used]
    a = fit(demo_split.train, p, device="cpu").pipeline.predict_proba(x)
    b = fit(demo_split.train, p, device="cpu").pipeline.predict_proba(x)
    np.testing.assert_array_equal(a, b)


def test_pipeline_handles_unseen_category_and_missing_values(demo_split, lr_params):
    result = fit(demo_split.train, lr_params, device="cpu")
    x = demo_split.test[lr_params.features.used].head(3).copy()
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
    assert m["brier"] == pytest.approx((0.01 + 0.36 + 0.36 + 0.01) / 4)
    assert set(m) == {
        "roc_auc",
        "pr_auc",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "log_loss",
        "brier",
    }


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
    from mlops.core.device import visible_gpus

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []


def test_xgboost_records_learning_curves_on_the_validation_split(demo_split, params):
    p = with_model(params, "xgboost")
    result = fit(demo_split.train, p, device="cpu")
    n = p.model.xgboost.n_estimators
    assert len(result.curves["val_logloss"]) == n
    assert len(result.curves["train_logloss"]) == n
    # Training loss falls monotonically; the validation curve improves on its start.
    assert result.curves["train_logloss"][-1] < result.curves["train_logloss"][0]
    assert min(result.curves["val_logloss"]) < result.curves["val_logloss"][0]


def test_choose_threshold_by_f1_and_by_recall():
    y = np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9])
    t = choose_threshold(y, p, "f1")
    best = compute_metrics(y, p, t)["f1"]
    assert all(compute_metrics(y, p, c)["f1"] <= best for c in p)
    t80 = choose_threshold(y, p, "recall", target_recall=0.8)
    assert compute_metrics(y, p, t80)["recall"] >= 0.8
    assert t80 == pytest.approx(0.6)  # the highest cut-off keeping 4 of 5 positives
    assert choose_threshold(y, p, "recall", target_recall=1.0) == pytest.approx(0.45)


def test_threshold_method_recall_reaches_target_on_validation(demo_split, lr_params):
    threshold = lr_params.train.threshold.model_copy(
        update={"method": "recall", "target_recall": 0.9}
    )
    p = lr_params.model_copy(
        update={"train": lr_params.train.model_copy(update={"threshold": threshold})}
    )
    result = fit(demo_split.train, p, device="cpu")
    assert result.validation_metrics["recall"] >= 0.9
    assert result.model.threshold_info_["target_recall"] == 0.9


def test_saved_artifact_carries_threshold_and_preprocessing(demo_split, lr_params, tmp_path):
    import joblib

    result = fit(demo_split.train, lr_params, device="cpu")
    joblib.dump(result.model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    x = demo_split.test[lr_params.features.used]
    assert loaded.threshold_ == result.threshold
    np.testing.assert_array_equal(loaded.predict_proba(x), result.model.predict_proba(x))
    predicted = loaded.predict(x)
    positive = (loaded.predict_proba(x)[:, 1] >= loaded.threshold_).astype(int)
    np.testing.assert_array_equal(predicted, np.asarray(loaded.labels_)[positive])
    assert loaded.labels_ == ["No", "Yes"]  # the class values as in the data, positive last
    assert list(loaded.feature_names_in_) == lr_params.features.used


def test_class_weighting_raises_recall_at_fixed_threshold(demo_split, lr_params):
    x = demo_split.test[lr_params.features.used]
    y = demo_split.test["target"]
    plain = fit(demo_split.train, lr_params, device="cpu")
    logreg = lr_params.model.logreg.model_copy(update={"class_weight": "balanced"})
    p = lr_params.model_copy(
        update={"model": lr_params.model.model_copy(update={"logreg": logreg})}
    )
    weighted = fit(demo_split.train, p, device="cpu")
    r_plain = compute_metrics(y, plain.model.predict_proba(x)[:, 1])["recall"]
    r_weighted = compute_metrics(y, weighted.model.predict_proba(x)[:, 1])["recall"]
    assert r_weighted > r_plain + 0.1


def test_calibration_bins():
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.05, 0.15, 0.55, 0.95, 1.0])
    rows = calibration(y, p, bins=2)
    assert [r["count"] for r in rows] == [2, 3]
    assert rows[0]["fraction_positive"] == 0.0 and rows[1]["fraction_positive"] == 1.0
    assert rows[1]["mean_predicted"] == pytest.approx(2.5 / 3, abs=1e-6)


def test_segment_metrics_handle_one_class_and_missing_segments():
    import pandas as pd

    y = np.array([0, 1, 0, 1, 0, 0])
    p = np.array([0.2, 0.8, 0.6, 0.4, 0.1, 0.3])
    seg = pd.Series(["a", "a", "a", "a", "b", None], dtype="string")
    out = segment_metrics(BINARY, y, p, seg, 0.5, ["0", "1"])
    assert set(out) == {"a", "b", "(missing)"}
    assert out["a"]["rows"] == 4 and out["a"]["roc_auc"] == pytest.approx(0.75)
    assert "roc_auc" not in out["b"] and out["b"]["accuracy"] == 1.0


def test_permutation_importance_ranks_the_informative_column(demo_split, lr_params):
    result = fit(demo_split.train, lr_params, device="cpu")
    x = demo_split.test[lr_params.features.used]
    rows = permutation_importance(result.model, x, demo_split.test["target"], repeats=2, seed=0)
    assert {r["feature"] for r in rows} == set(lr_params.features.used)
    assert rows[0]["feature"] == "tenure"
    again = permutation_importance(result.model, x, demo_split.test["target"], repeats=2, seed=0)
    assert rows == again


def test_permutation_importance_on_a_seeded_sample_of_max_rows(demo_split, lr_params):
    result = fit(demo_split.train, lr_params, device="cpu")
    x, y = demo_split.test[lr_params.features.used], demo_split.test["target"]
    full = permutation_importance(result.model, x, y, repeats=2, seed=0)
    sample = permutation_importance(result.model, x, y, repeats=2, seed=0, max_rows=700)
    assert sample != full  # fewer rows: other figures
    assert sample[0]["feature"] == "tenure"
    assert sample == permutation_importance(result.model, x, y, repeats=2, seed=0, max_rows=700)
    # a bound above the row count changes nothing
    assert full == permutation_importance(result.model, x, y, repeats=2, seed=0, max_rows=10**6)


def test_choosing_another_family_never_imports_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mlops.core.config import load_params\n"
        "from mlops.stages.train import build_pipeline\n"
        "p = load_params('params.yaml')\n"
        "for t in ('logreg', 'rf', 'xgboost'):\n"
        "    q = p.model_copy(update={'model': p.model.model_copy(update={'type': t})})\n"
        "    build_pipeline(q, 'cpu')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))\n"
    )
    from ..conftest import REPO_ROOT

    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=run_env(),
        cwd=REPO_ROOT,
    )
    assert proc.stdout.strip() == "[]"


@pytest.mark.slow
def test_keras_learns_deterministically_and_pickles(demo_split, params, tmp_path):
    """TensorFlow: trains in seconds, seeded (identical twice on the CPU), one joblib file."""
    import joblib

    p = with_model(params, "keras")
    x = demo_split.test[p.features.used]
    y = demo_split.test["target"]
    first = fit(demo_split.train, p, device="cpu")
    second = fit(demo_split.train, p, device="cpu")
    a = first.model.predict_proba(x)[:, 1]
    b = second.model.predict_proba(x)[:, 1]
    m = compute_metrics(y, a, first.threshold)
    assert 0.80 <= m["roc_auc"] <= 0.88, m
    assert abs(m["roc_auc"] - compute_metrics(y, b)["roc_auc"]) <= 0.005
    assert first.threshold == pytest.approx(second.threshold, abs=0.05)
    # Early stopping on the validation split: curves per epoch, stopped before max_epochs
    # or at it, with the best weights restored.
    epochs = len(first.curves["val_logloss"])
    assert 1 <= epochs <= p.model.keras.max_epochs
    assert len(first.curves["train_logloss"]) == epochs
    joblib.dump(first.model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_allclose(loaded.predict_proba(x)[:, 1], a, rtol=1e-6)
    assert loaded.threshold_ == first.threshold
