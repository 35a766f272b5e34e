"""Each task's metrics and their paired bootstrap, checked against known truth on simulated
data: the vectorized resample metrics equal the metrics recomputed on the resampled rows, the
same model twice shows no difference, a degraded model is worse, and the 95% interval covers a
known population difference about 95% of the time, with few false alarms."""

from __future__ import annotations

import numpy as np
import pytest

from mlops.report.bootstrap import SAME, WORSE, paired
from mlops.tasks import HIGHER_IS_BETTER, TASKS
from mlops.tasks.base import resample_counts
from mlops.tasks.multiclass import MULTICLASS
from mlops.tasks.regression import REGRESSION

OPTIONS = {"thresholds": (None, None), "resamples": 1000, "confidence": 0.95, "seed": 7}


def multiclass_scores(rng, y: np.ndarray, k: int, accuracy: float) -> np.ndarray:
    """Probabilities whose most probable class is the true one with chance ``accuracy``."""
    n = len(y)
    said = np.where(rng.random(n) < accuracy, y, (y + rng.integers(1, k, n)) % k)
    logits = rng.normal(0, 0.5, (n, k))
    logits[np.arange(n), said] += 2.0
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def multiclass_case(rng, n=600, k=3, accuracy=0.7):
    y = rng.integers(0, k, n)
    return y, multiclass_scores(rng, y, k, accuracy)


def regression_case(rng, n=500, noise=1.0):
    y = rng.normal(10, 3, n)
    return y, y + rng.normal(0, noise, n)


CASES = {
    "multiclass": lambda rng: multiclass_case(rng),
    "regression": lambda rng: regression_case(rng),
}


def test_every_metric_has_a_direction_and_one_meaning():
    for task in TASKS.values():
        assert set(task.metrics) <= set(HIGHER_IS_BETTER)
        assert task.headline in task.metrics
        for rules in ("minimums", "max_regression"):
            assert set(task.default_gate[rules]) <= set(task.metrics), task.name
        for metric, better in task.higher_is_better.items():
            assert HIGHER_IS_BETTER[metric] == better


@pytest.mark.parametrize("name", ["multiclass", "regression"])
def test_each_resample_metric_is_the_metric_of_the_resampled_rows(name):
    task = TASKS[name]
    y, scores = CASES[name](np.random.default_rng(1))
    counts = resample_counts(task.strata(y), len(y), 4, seed=3)
    if task.classification:  # stratified: every class keeps its size
        for label in np.unique(y):
            assert (counts[:, y == label].sum(axis=1) == (y == label).sum()).all()
    samples = task.samples(y, scores, None, counts)
    assert set(samples) == set(task.metrics)
    for b in range(4):
        rows = np.repeat(np.arange(len(y)), counts[b].astype(int))
        expected = task.compute(y[rows], scores[rows])
        for metric, value in expected.items():
            assert samples[metric][b] == pytest.approx(value, abs=1e-6), metric


def test_multiclass_metrics_agree_with_scikit_learn():
    from sklearn import metrics as skm

    y, proba = multiclass_case(np.random.default_rng(4), k=4)
    got = MULTICLASS.compute(y, proba)
    predicted = proba.argmax(axis=1)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted), abs=1e-6)
    assert got["balanced_accuracy"] == pytest.approx(
        skm.balanced_accuracy_score(y, predicted), abs=1e-6
    )
    assert got["f1_macro"] == pytest.approx(skm.f1_score(y, predicted, average="macro"), abs=1e-6)
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba), abs=1e-6)
    assert got["roc_auc_ovr"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"), abs=1e-6
    )


def test_regression_metrics_agree_with_scikit_learn():
    from sklearn import metrics as skm

    y, predicted = regression_case(np.random.default_rng(5))
    got = REGRESSION.compute(y, predicted)
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, predicted)), abs=1e-6)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, predicted), abs=1e-6)
    assert got["r2"] == pytest.approx(skm.r2_score(y, predicted), abs=1e-6)


@pytest.mark.parametrize("name", ["multiclass", "regression"])
def test_the_same_model_twice_has_no_detectable_difference(name):
    task = TASKS[name]
    y, scores = CASES[name](np.random.default_rng(2))
    intervals = paired(task, y, scores, scores.copy(), **OPTIONS)
    assert set(intervals) == set(task.metrics)
    for interval in intervals.values():
        assert interval.delta == 0 and interval.low <= 0 <= interval.high
        assert interval.verdict == SAME


def test_a_degraded_model_is_worse_on_every_metric():
    rng = np.random.default_rng(3)
    y, good = multiclass_case(rng, accuracy=0.8)
    bad = multiclass_scores(rng, y, 3, accuracy=0.5)
    for metric, interval in paired(MULTICLASS, y, good, bad, **OPTIONS).items():
        assert interval.verdict == WORSE, metric
    y, close = regression_case(rng, noise=1.0)
    far = y + rng.normal(0, 2.0, len(y))
    for metric, interval in paired(REGRESSION, y, close, far, **OPTIONS).items():
        assert interval.verdict == WORSE, metric


def coverage(simulate, metric, truth, runs=200):
    rng = np.random.default_rng(2026)
    covered = flagged = 0
    for _ in range(runs):
        task, y, base, cand = simulate(rng)
        interval = paired(task, y, base, cand, thresholds=(None, None), resamples=400,
                          confidence=0.95, seed=int(rng.integers(1 << 30)))[metric]  # fmt: skip
        covered += interval.low <= truth <= interval.high
        flagged += interval.verdict != SAME
    return covered / runs, flagged / runs


def test_regression_interval_covers_the_true_rmse_difference():
    """Errors N(0, 1) against N(0, 1.2^2): the population RMSE difference is 0.2."""

    def simulate(rng):
        y = rng.normal(0, 3, 400)
        return REGRESSION, y, y + rng.normal(0, 1.0, 400), y + rng.normal(0, 1.2, 400)

    rate, _ = coverage(simulate, "rmse", 0.2)
    assert 0.90 <= rate <= 0.99, rate


def test_multiclass_interval_covers_the_true_accuracy_difference():
    """Right with chance 0.75 against 0.65 (independently): the difference is -0.10."""

    def simulate(rng):
        y = rng.integers(0, 3, 300)
        base = multiclass_scores(rng, y, 3, 0.75)
        return MULTICLASS, y, base, multiclass_scores(rng, y, 3, 0.65)

    rate, _ = coverage(simulate, "accuracy", -0.10, runs=100)
    assert 0.90 <= rate <= 0.99, rate


def test_equally_good_models_rarely_raise_a_false_alarm():
    """Two different models of the same quality: 'worse' or 'better' in about 5% of runs."""

    def regression(rng):
        y = rng.normal(0, 3, 400)
        return REGRESSION, y, y + rng.normal(0, 1.0, 400), y + rng.normal(0, 1.0, 400)

    def multiclass(rng):
        y = rng.integers(0, 3, 300)
        return MULTICLASS, y, multiclass_scores(rng, y, 3, 0.7), multiclass_scores(rng, y, 3, 0.7)

    for simulate, metric, runs in ((regression, "rmse", 200), (multiclass, "accuracy", 100)):
        rate, flagged = coverage(simulate, metric, 0.0, runs)
        assert flagged <= 0.10 and rate >= 0.90, (metric, flagged, rate)
