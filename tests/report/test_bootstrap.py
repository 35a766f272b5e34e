"""The paired bootstrap of the report's metric differences, checked against known truth:
simulated scores whose population difference is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from mlops.core.config import GateConfig
from mlops.report import gate
from mlops.report.bootstrap import SAME, WORSE
from mlops.report.bootstrap import paired as paired_of
from mlops.tasks.base import resample_counts
from mlops.tasks.binary import BINARY


def paired(*args, **kwargs):
    return paired_of(BINARY, *args, **kwargs)


OPTIONS = {"thresholds": (0.5, 0.5), "resamples": 1000, "confidence": 0.95, "seed": 7}


def binormal(rng, n: int, positives: int, separation: float, noise: float = 0.0):
    """Labels with a fixed class count, a baseline score N(separation * y, 1) and a candidate
    that adds N(0, noise^2) to it; both mapped to (0, 1) by the logistic function."""
    y = np.zeros(n, dtype=int)
    y[:positives] = 1
    base = separation * y + rng.normal(0, 1, n)
    cand = base + rng.normal(0, noise, n) if noise else base.copy()
    logistic = lambda s: 1 / (1 + np.exp(-s))  # noqa: E731
    return y, logistic(base), logistic(cand)


def true_auc_difference(separation: float, noise: float) -> float:
    """Population ROC-AUC of the candidate minus the baseline's (binormal, equal variances)."""
    return float(
        norm.cdf(separation / np.sqrt(2 * (1 + noise**2))) - norm.cdf(separation / np.sqrt(2))
    )


def test_each_resample_metric_is_compute_metrics_on_the_resampled_rows():
    rng = np.random.default_rng(1)
    y, p, _ = binormal(rng, 600, 160, 1.2)
    p = p.round(2)  # ties
    counts = resample_counts(BINARY.strata(y), len(y), 4, seed=3)
    assert (counts[:, y == 1].sum(axis=1) == 160).all()  # stratified: class sizes kept
    assert (counts.sum(axis=1) == 600).all()
    samples = BINARY.samples(y, p, 0.4, counts)
    for b in range(4):
        rows = np.repeat(np.arange(600), counts[b].astype(int))
        expected = BINARY.compute(y[rows], p[rows], 0.4)
        for name, value in expected.items():
            assert samples[name][b] == pytest.approx(value, abs=1e-6), name


def test_the_same_model_twice_has_no_detectable_difference():
    y, base, _ = binormal(np.random.default_rng(2), 1409, 374, 1.4)
    intervals = paired(y, base, base.copy(), **OPTIONS)
    assert set(intervals) == {
        "roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "log_loss", "brier",
    }  # fmt: skip
    for i in intervals.values():
        assert i.low <= 0 <= i.high and i.delta == 0
        assert i.verdict == SAME


def test_strong_noise_is_a_detectable_roc_auc_regression():
    y, base, cand = binormal(np.random.default_rng(3), 1409, 374, 1.4, noise=1.0)
    auc = paired(y, base, cand, **OPTIONS)["roc_auc"]
    assert auc.verdict == WORSE and auc.high < 0
    assert auc.low < auc.delta < auc.high
    # Losses: worse means higher, and the words follow the metric's direction.
    assert paired(y, base, cand, **OPTIONS)["log_loss"].verdict == WORSE


def test_the_95_percent_interval_covers_the_true_difference_about_95_percent_of_the_time():
    separation, noise = 1.2, 0.5
    truth = true_auc_difference(separation, noise)  # -0.036
    rng = np.random.default_rng(2026)
    covered = 0
    for _ in range(200):
        y, base, cand = binormal(rng, 800, 216, separation, noise)
        auc = paired(y, base, cand, thresholds=(0.5, 0.5), resamples=400, confidence=0.95,
                     seed=int(rng.integers(1 << 30)))["roc_auc"]  # fmt: skip
        covered += auc.low <= truth <= auc.high
    assert 0.90 <= covered / 200 <= 0.99, covered


def test_the_seed_fixes_the_intervals():
    y, base, cand = binormal(np.random.default_rng(4), 1000, 270, 1.2, noise=0.4)
    first = paired(y, base, cand, **OPTIONS)["roc_auc"]
    again = paired(y, base, cand, **OPTIONS)["roc_auc"]
    other = paired(y, base, cand, **{**OPTIONS, "seed": 8})["roc_auc"]
    assert (first.low, first.high) == (again.low, again.high)
    assert (first.low, first.high) != (other.low, other.high)
    assert other.low == pytest.approx(first.low, abs=0.005)
    assert other.high == pytest.approx(first.high, abs=0.005)


def test_resamples_in_blocks_give_the_same_interval_as_in_one(monkeypatch):
    from mlops.report import bootstrap

    y, base, cand = binormal(np.random.default_rng(5), 500, 135, 1.2, noise=0.4)
    whole = paired(y, base, cand, **OPTIONS)["roc_auc"]
    monkeypatch.setattr(bootstrap, "BLOCK_CELLS", 500 * 64)  # 64 resamples per block
    blocked = paired(y, base, cand, **OPTIONS)["roc_auc"]
    # Different blocks draw different resamples, but the interval is the same to noise level.
    assert blocked.low == pytest.approx(whole.low, abs=0.01)
    assert blocked.high == pytest.approx(whole.high, abs=0.01)


@pytest.mark.parametrize(("noise", "passes"), [(0.4, True), (1.5, False)])
def test_the_significant_rule_fails_only_a_drop_beyond_the_noise(noise, passes):
    y, base, cand = binormal(np.random.default_rng(6), 1409, 374, 1.4, noise=noise)
    intervals = paired(y, base, cand, **OPTIONS)
    candidate = BINARY.compute(y, cand, 0.5)
    baseline = BINARY.compute(y, base, 0.5)
    drop = baseline["roc_auc"] - candidate["roc_auc"]
    allowed = 0.005
    assert drop > allowed  # the point rule fails both
    point = GateConfig(max_regression={"roc_auc": allowed})
    significant = GateConfig(max_regression={"roc_auc": allowed}, regression_rule="significant")
    as_interval = {m: (i.low, i.high) for m, i in intervals.items()}
    (by_point,) = gate.evaluate(point, candidate, baseline, intervals=as_interval)
    assert not by_point.passed and "(point" not in by_point.message
    (by_interval,) = gate.evaluate(significant, candidate, baseline, intervals=as_interval)
    assert by_interval.passed is passes
    assert by_interval.rule == f"drop <= {allowed} vs the baseline (95% CI)"
    assert "(significant rule" in by_interval.message
    # An improvement is not called "worse by" a negative amount.
    (better,) = gate.evaluate(significant, baseline, candidate, intervals={
        m: (-i.high, -i.low) for m, i in intervals.items()})  # fmt: skip
    assert better.passed and f"not worse (better by {drop:.4f})" in better.message
    assert "worse by -" not in better.message
    # Without an interval (the champion comparison of `mlops promote`): the point rule, said so.
    (no_interval,) = gate.evaluate(significant, candidate, baseline)
    assert not no_interval.passed
    assert no_interval.message.endswith("(point estimate: no paired interval for this comparison)")
