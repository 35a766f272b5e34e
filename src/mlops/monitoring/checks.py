"""The statistics behind ``mlops monitor``'s verdict: drift of the inputs, of the model's
predictions and of the target, and the model's metrics on labelled production data.

**Many tests at once.** A table of 19 features tested one by one at p < 0.01 raises a false
alarm on about 1 resample in 6 (1 - 0.99^19) even when nothing moved, and a weekly monitor
would cry wolf every other month. So every test of one run (each feature's, the prediction's,
the target's) forms one family, and the p-values are adjusted together with Holm's step-down
method, which keeps the chance of *any* false alarm in the run at most ``monitor.alpha``
whatever the tests' dependence. Significance alone is not drift, either: with a million
production rows a shift of no consequence is significant. A column drifts when its shift is
**material and not chance**: its PSI reaches ``drift.psi_threshold`` (a class share: moves by
``drift.target_rate_delta``) and its Holm-adjusted p-value is below ``monitor.alpha``.

**Degradation.** With the target present, the model's metrics on the current rows and on its
own test split are bootstrapped independently (stratified by class for a classifier) and the
interval of their difference is taken at ``report.bootstrap.confidence``. The headline metric
decides, one test, so no correction: degraded when the whole interval lies on the worse side
and the drop is at least ``monitor.min_drop`` of the test split's value (a share: 0.05 is 5%,
so that one setting means the same for ROC-AUC and for an RMSE in any unit). The test split is
itself a sample: its uncertainty is in the interval, so a model is not called degraded because
its test split happened to be kind to it, unless the difference is beyond both samples' noise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops.core.artifacts import LABELS, TARGET, feature_frame
from mlops.stages.drift import categorical_drift, numeric_drift
from mlops.tasks import HIGHER_IS_BETTER, task_of
from mlops.tasks.base import LABEL, resample_counts

if TYPE_CHECKING:
    from mlops.core.config import Params
    from mlops.tasks import Task

PREDICTION_COLUMN = "(prediction)"


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given)."""
    m = len(pvalues)
    order = np.argsort(pvalues, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(pvalues[index])))
        adjusted[index] = running
    return adjusted.tolist()


def _pvalue(result: dict[str, Any]) -> float:
    return float(result["ks_pvalue"] if result["kind"] == "numeric" else result["chi2_pvalue"])


def predictions(model: Any, frame: pd.DataFrame, params: Params) -> tuple[np.ndarray, pd.Series]:
    """The model's scores on ``frame`` and what its output distribution is judged on: binary,
    the positive class's probability; multiclass, the predicted class; regression, the
    prediction."""
    scores = np.asarray(model.scores(feature_frame(frame, params)))
    if scores.ndim == 2:  # a multiclass model's probabilities
        labels = model.outputs_of(scores)[LABEL]
        return scores, pd.Series(np.asarray(labels, dtype=object), name=PREDICTION_COLUMN)
    return scores, pd.Series(scores.astype(float), name=PREDICTION_COLUMN)


def drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    params: Params,
    monitor_params: Params,
    predictions: tuple[pd.Series, pd.Series],
) -> dict[str, Any]:
    """Every column's shift, the prediction's and (labelled data) the target's, with
    Holm-adjusted p-values and the material-and-not-chance rule (the module's docstring).

    ``params`` are the model's own (its features); ``monitor_params`` the thresholds in force.
    """
    cfg, alpha = monitor_params.drift, monitor_params.monitor.alpha
    results: dict[str, dict[str, Any]] = {}
    for name in params.features.numeric:
        results[name] = numeric_drift(reference[name], current[name], cfg.bins)
    for name in params.features.categorical:
        results[name] = categorical_drift(reference[name], current[name])
    ref_pred, cur_pred = predictions
    results[PREDICTION_COLUMN] = (
        numeric_drift(ref_pred, cur_pred, cfg.bins)
        if pd.api.types.is_float_dtype(ref_pred)
        else categorical_drift(ref_pred, cur_pred)
    )
    target = None
    if TARGET in current.columns:
        target = _target_shift(reference, current, params, cfg)
        results[TARGET] = target
    names = list(results)
    adjusted = holm([_pvalue(results[n]) for n in names])
    for name, p in zip(names, adjusted, strict=True):
        result = results[name]
        result["adjusted_pvalue"] = p
        material = result.get("material", result["psi"] >= cfg.psi_threshold)
        result["drifted"] = bool(material and p < alpha)
        result["reasons"] = (
            [f"{_effect(result, cfg)}; Holm-adjusted p-value {p:.2g} < {alpha}"]
            if result["drifted"]
            else []
        )
    columns = {n: results[n] for n in params.features.used}
    drifted = [n for n, r in columns.items() if r["drifted"]]
    return {
        "tests": len(names),
        "alpha": alpha,
        "columns": columns,
        "drifted_columns": drifted,
        "prediction": results[PREDICTION_COLUMN],
        "target": target,
    }


def _effect(result: dict[str, Any], cfg: Any) -> str:
    if "delta" in result:
        return f"share of {result['class']!r} moved {result['delta']:+.3f}"
    return f"PSI {result['psi']:.3f} >= {cfg.psi_threshold}"


def _target_shift(
    reference: pd.DataFrame, current: pd.DataFrame, params: Params, cfg: Any
) -> dict[str, Any]:
    """The target's shift on the labelled current rows: a regression's as a numeric
    feature's; a classifier's by the class share that moved most (material when it moved by
    ``drift.target_rate_delta``), tested with the chi-square test of the class counts."""
    labelled = current[TARGET].notna()
    if not task_of(params).classification:
        return numeric_drift(reference[TARGET], current.loc[labelled, TARGET], cfg.bins)
    labels = list(reference.attrs.get(LABELS) or [])
    ref = pd.Series(np.asarray(labels, dtype=object)[reference[TARGET].to_numpy(dtype=int)])
    cur_codes = current.loc[labelled, TARGET].to_numpy(dtype=int)
    cur = pd.Series(np.asarray(labels, dtype=object)[cur_codes])
    result = categorical_drift(ref, cur)
    ref_share = ref.value_counts(normalize=True).reindex(labels, fill_value=0.0)
    cur_share = cur.value_counts(normalize=True).reindex(labels, fill_value=0.0)
    change = cur_share - ref_share
    # binary: the positive label's rate; multiclass: the share that moved most
    largest = str(params.data.positive_label or change.abs().idxmax())
    delta = float(change[largest])
    return {
        **result,
        "class": largest,
        "reference_share": float(ref_share[largest]),
        "current_share": float(cur_share[largest]),
        "delta": delta,
        "material": abs(delta) >= cfg.target_rate_delta,
    }


def performance(
    task: Task,
    reference: tuple[np.ndarray, np.ndarray],
    current: tuple[np.ndarray, np.ndarray],
    threshold: float | None,
    monitor_params: Params,
) -> dict[str, Any]:
    """The model's metrics on its test split and on the labelled current rows, each with its
    bootstrap interval, and the interval of their difference (current minus test split)."""
    boot, min_drop = monitor_params.report.bootstrap, monitor_params.monitor.min_drop
    sides: dict[str, tuple[dict[str, float], dict[str, np.ndarray]]] = {}
    for side, (y, scores) in (("reference", reference), ("current", current)):
        y = y.astype(int) if task.classification else y.astype("float64")
        counts = resample_counts(task.strata(y), len(y), boot.resamples, boot.seed + len(sides))
        full = task.samples(y, scores, threshold, np.ones((1, len(y))))
        sides[side] = (
            {m: float(v[0]) for m, v in full.items()},
            task.samples(y, scores, threshold, counts),
        )
    tail = (1 - boot.confidence) / 2
    metrics: dict[str, dict[str, Any]] = {}
    for metric in task.report_order:
        (ref_full, ref_all), (cur_full, cur_all) = sides["reference"], sides["current"]
        ref_point, ref_samples = ref_full.get(metric), ref_all.get(metric)
        cur_point, cur_samples = cur_full.get(metric), cur_all.get(metric)
        if ref_samples is None or cur_samples is None:
            continue
        if not (np.isfinite(ref_samples).all() and np.isfinite(cur_samples).all()):
            continue  # undefined on a resample (one class only)
        diff = cur_samples - ref_samples
        metrics[metric] = {
            "reference": ref_point,
            "reference_interval": _interval(ref_samples, tail),
            "current": cur_point,
            "current_interval": _interval(cur_samples, tail),
            "delta": float(cur_point - ref_point),  # type: ignore[operator]
            "delta_interval": _interval(diff, tail),
        }
    headline = task.headline
    found = metrics.get(headline)
    degraded = False
    if found is not None:
        low, high = found["delta_interval"]
        better = HIGHER_IS_BETTER[headline]
        surely_worse = high < 0 if better else low > 0
        drop = -found["delta"] if better else found["delta"]
        degraded = bool(surely_worse and drop >= min_drop * abs(found["reference"]))
    return {
        "headline": headline,
        "confidence": boot.confidence,
        "min_drop": min_drop,
        "rows": len(current[0]),
        "metrics": metrics,
        "degraded": degraded,
    }


def _interval(samples: np.ndarray, tail: float) -> list[float]:
    low, high = np.quantile(samples, [tail, 1 - tail])
    return [float(low), float(high)]
