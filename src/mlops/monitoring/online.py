"""``mlops online-report``: the champion and the challenger on the same live traffic.

It reads the service's traffic records written with a challenger (``MLOPS_CHALLENGER_MODE``
shadow or canary, ``mlops.serving.challenger``): each recorded row holds the answer, which
model gave it (``route``), and the other model's outputs, scored off the response path. So
every figure compares the two models on the very same rows (paired):

* without outcomes: how often their labels agree (a classifier; Wilson interval) or how far
  their predictions are apart (a regression: mean absolute difference); the mean paired
  difference of their scores (binary: the positive class's probability; regression: the
  prediction; multiclass: the total variation distance of the two probability vectors) with
  its normal interval; the Kolmogorov-Smirnov distance of the two score distributions; each
  version's latency;
* with outcomes (``--labels``: a table of ``data.id_column`` and ``data.target``, e.g. known a
  month later, joined to the records by id): every metric of the task for both models, and
  the paired, stratified bootstrap interval of each difference (``report.bootstrap``, as in
  the PR report). The verdict follows the headline metric's interval.

A binary model's labels come from its own threshold, which the records do not carry: the
threshold used is the lowest probability the model labelled positive, which gives back every
recorded label exactly. Rows count as independent draws: an entity scored ten times counts ten
times.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops.core.errors import DataError
from mlops.monitoring import online_report as doc
from mlops.monitoring import records
from mlops.monitoring.records import (
    LATENCY_MS,
    MODEL_VERSION,
    ROUTE,
    SHADOW_LATENCY_MS,
    SHADOW_PREFIX,
    SHADOW_VERSION,
)
from mlops.tasks import task_of
from mlops.tasks.base import LABEL, PREDICTION, PROBABILITY
from mlops.tasks.multiclass import PROBABILITY_PREFIX
from mlops.tracking.registry import CHALLENGER, CHAMPION

if TYPE_CHECKING:
    from mlops.core.config import Params
    from mlops.tasks.base import Task

ROLES = (CHAMPION, CHALLENGER)
VERDICTS = {"better": doc.BETTER, "worse": doc.WORSE, "no detectable difference": doc.SAME}


@dataclass
class Traffic:
    """The recorded rows that hold both models' outputs, each model's outputs on them."""

    path: Path
    rows: int  # every recorded row
    frame: pd.DataFrame  # the paired rows (features, id, route, latencies)
    outputs: dict[str, dict[str, np.ndarray]]  # role -> output column -> values
    versions: dict[str, str]  # role -> version
    labels: list[str]  # a classifier's classes, in the order of its scores


def load(path: Path, params: Params) -> Traffic:
    """The paired rows of the records at ``path`` (refused, naming why, when there are none)."""
    frame = records.read(path, params.features.used)
    if ROUTE not in frame.columns:
        raise DataError(
            f"{path}: the traffic records hold no challenger's outputs (no column {ROUTE!r}): "
            "they were written with MLOPS_CHALLENGER_MODE off; serve the bento in shadow or "
            "canary mode first (docs/serving.md)"
        )
    names = [
        c
        for c in frame.columns
        if f"{SHADOW_PREFIX}{c}" in frame.columns and c not in (MODEL_VERSION, LATENCY_MS)
    ]
    routes = frame[ROUTE].astype(str)
    unknown = sorted(set(routes) - set(ROLES))
    if unknown:
        raise DataError(f"{path}: column {ROUTE!r} has value {unknown[0]!r}, not one of {ROLES}")
    paired = frame[f"{SHADOW_PREFIX}{names[0]}"].notna().to_numpy()
    frame, routes = frame[paired].reset_index(drop=True), routes[paired].reset_index(drop=True)
    if frame.empty:
        raise DataError(
            f"{path}: no recorded row holds both models' outputs (every shadow scoring failed "
            "or was shed: see the service's log and mlops_model_errors_total on /metrics)"
        )
    by_challenger = (routes == CHALLENGER).to_numpy()
    outputs: dict[str, dict[str, np.ndarray]] = {role: {} for role in ROLES}
    for name in names:
        answered = frame[name].to_numpy()
        shadow = frame[f"{SHADOW_PREFIX}{name}"].to_numpy()
        outputs[CHALLENGER][name] = np.where(by_challenger, answered, shadow)
        outputs[CHAMPION][name] = np.where(by_challenger, shadow, answered)
    own, other = frame[MODEL_VERSION].astype(str), frame[SHADOW_VERSION].astype(str)
    versions = {}
    for role, mine in ((CHAMPION, ~by_challenger), (CHALLENGER, by_challenger)):
        found = sorted(set(own[mine]) | set(other[~mine]))
        if len(found) != 1:
            raise DataError(
                f"{path}: the records hold {role} versions {', '.join(found)}: pass the "
                "records of one deployment (one champion and one challenger)"
            )
        versions[role] = found[0]
    labels = [n.removeprefix(PROBABILITY_PREFIX) for n in names if n.startswith(PROBABILITY_PREFIX)]
    frame = frame.assign(**{ROUTE: routes})
    return Traffic(path, int(paired.size), frame, outputs, versions, labels)


def scores(task: Task, outputs: dict[str, np.ndarray], labels: list[str]) -> np.ndarray:
    """What the task's metrics are computed from, out of one model's recorded outputs."""
    if task.name == "binary":
        return outputs[PROBABILITY].astype("float64")
    if task.name == "regression":
        return outputs[PREDICTION].astype("float64")
    return np.column_stack([outputs[f"{PROBABILITY_PREFIX}{k}"] for k in labels]).astype("float64")


def binary_threshold(probability: np.ndarray, labels: np.ndarray, positive: str) -> float:
    """The threshold that gives back a binary model's recorded labels exactly: the lowest
    probability it labelled positive (every higher one is positive too); none labelled
    positive: above every probability."""
    positives = probability[labels.astype(str) == positive]
    return float(positives.min()) if len(positives) else float("inf")


def _normal(values: np.ndarray, confidence: float, measure: str) -> doc.Estimate:
    from scipy import stats

    mean = float(np.mean(values))
    half = 0.0
    if len(values) > 1:
        half = float(stats.norm.ppf(0.5 + confidence / 2) * np.std(values, ddof=1))
        half /= np.sqrt(len(values))
    return doc.Estimate(measure=measure, value=mean, low=mean - half, high=mean + half)


def _wilson(hits: int, n: int, confidence: float, measure: str) -> doc.Estimate:
    from scipy import stats

    z = float(stats.norm.ppf(0.5 + confidence / 2))
    share = hits / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return doc.Estimate(measure=measure, value=share, low=centre - half, high=centre + half)


def answers(traffic: Traffic, task: Task, confidence: float) -> dict[str, Any]:
    """The comparison that needs no outcomes: agreement, score difference, KS distance."""
    from scipy import stats

    champion, challenger = (scores(task, traffic.outputs[r], traffic.labels) for r in ROLES)
    if task.classification:
        same = traffic.outputs[CHAMPION][LABEL].astype(str) == traffic.outputs[CHALLENGER][
            LABEL
        ].astype(str)
        agreement = _wilson(int(same.sum()), len(same), confidence, "share of labels that agree")
    else:
        agreement = _normal(
            np.abs(challenger - champion), confidence, "mean absolute difference of predictions"
        )
    if task.name == "multiclass":
        distance = 0.5 * np.abs(challenger - champion).sum(axis=1)
        difference = _normal(distance, confidence, "mean total variation distance of probabilities")
        ks = stats.ks_2samp(challenger.max(axis=1), champion.max(axis=1))
    else:
        what = "probability" if task.classification else "prediction"
        difference = _normal(
            challenger - champion, confidence, f"mean {what} difference (challenger - champion)"
        )
        ks = stats.ks_2samp(challenger, champion)
    return {
        "agreement": agreement,
        "score_difference": difference,
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
    }


def latency(traffic: Traffic) -> list[doc.LatencyDoc]:
    """Each version's prediction-call time, on the response path and off it."""
    frame, out = traffic.frame, []
    for role in ROLES:
        answered = frame[ROUTE] == role
        for path, column, mine in (
            ("answer", LATENCY_MS, answered),
            ("shadow", SHADOW_LATENCY_MS, ~answered),
        ):
            values = pd.to_numeric(frame.loc[mine, column], errors="coerce").dropna().to_numpy()
            if len(values) == 0:
                continue
            p50, p95, p99 = (float(q) for q in np.quantile(values, [0.5, 0.95, 0.99]))
            out.append(
                doc.LatencyDoc(
                    version=traffic.versions[role],
                    role=role,
                    path=path,
                    rows=len(values),
                    p50_ms=p50,
                    p95_ms=p95,
                    p99_ms=p99,
                )
            )
    return out


def outcomes(traffic: Traffic, labels_path: Path, params: Params) -> doc.OutcomesDoc:
    """Both models' metrics on the recorded rows whose outcome ``labels_path`` gives, and the
    paired bootstrap interval of each difference."""
    from mlops.monitoring.current import encode_target, read_table
    from mlops.report import bootstrap

    where = f"--labels {labels_path}"
    column, target = params.data.id_column, params.data.target
    if column is None:
        raise DataError(
            f"{where}: outcomes are joined by data.id_column, which params.yaml sets null"
        )
    if column not in traffic.frame.columns or traffic.frame[column].isna().all():
        raise DataError(
            f"{traffic.path}: the records carry no {column!r} (data.id_column), so outcomes "
            "cannot be joined: send the id column with each request"
        )
    table = read_table(labels_path)
    for needed in (column, target):
        if needed not in table.columns:
            raise DataError(f"{where}: no column {needed!r} (data.id_column and data.target)")
    ids = table[column].astype("string").str.strip()
    twice = ids[ids.duplicated()].dropna()
    if len(twice):
        raise DataError(f"{where}: id {twice.iloc[0]!r} has two outcomes")
    text = table[target].astype("string").str.strip()
    known = dict(zip(ids, text.mask(text == ""), strict=True))
    joined = traffic.frame[column].map(lambda v: None if v is None else known.get(str(v)))
    task = task_of(params)
    outcome = pd.Series(joined, dtype="string")
    labels = traffic.labels
    if task.name == "binary":  # the two classes: the answers' and the outcomes'
        seen = {str(v) for role in ROLES for v in traffic.outputs[role][LABEL]}
        labels = sorted(seen | set(outcome.dropna()) | {str(params.data.positive_label)})
        if len(labels) > 2:
            raise DataError(
                f"{where}: column {target!r} and the answers hold classes "
                f"{', '.join(map(repr, labels))}: a binary target has two"
            )
    y = encode_target(outcome, params, labels, where)
    has = np.isfinite(y)
    y = y[has]
    every = {role: scores(task, traffic.outputs[role], traffic.labels) for role in ROLES}
    model = {role: every[role][has] for role in ROLES}
    thresholds: dict[str, float | None] = dict.fromkeys(ROLES)
    if task.name == "binary":
        for role in ROLES:
            label = traffic.outputs[role][LABEL]
            thresholds[role] = binary_threshold(every[role], label, str(params.data.positive_label))
    cfg = params.report.bootstrap
    metrics: dict[str, doc.OutcomeDoc] = {}
    if len(y) and (not task.classification or len(np.unique(y)) > 1):
        values = {role: task.compute(y, model[role], thresholds[role]) for role in ROLES}
        intervals = bootstrap.paired(
            task, y, model[CHAMPION], model[CHALLENGER],
            thresholds=(thresholds[CHAMPION], thresholds[CHALLENGER]),
            resamples=cfg.resamples, confidence=cfg.confidence, seed=cfg.seed,
        )  # fmt: skip
        for metric in task.report_order:
            if metric in intervals:
                metrics[metric] = doc.OutcomeDoc(
                    champion=values[CHAMPION][metric],
                    challenger=values[CHALLENGER][metric],
                    difference=intervals[metric],
                )
    return doc.OutcomesDoc(
        path=str(labels_path), labelled=len(y), headline=task.headline,
        confidence=cfg.confidence, resamples=cfg.resamples, metrics=metrics,
    )  # fmt: skip


def verdict(out: doc.OutcomesDoc | None, min_labelled: int) -> tuple[str, list[str]]:
    if out is None:
        return doc.NO_OUTCOMES, []
    if out.labelled < min_labelled or out.headline not in out.metrics:
        reason = (
            f"{out.labelled:,} recorded rows have an outcome; gate.online.min_labelled asks "
            f"for {min_labelled:,}"
        )
        return doc.TOO_FEW, [reason]
    head = out.metrics[out.headline].difference
    reason = (
        f"{out.headline}: challenger minus champion {head.delta:+.4f}, "
        f"{out.confidence:.0%} interval [{head.low:+.4f}, {head.high:+.4f}]"
    )
    return VERDICTS[head.verdict], [reason]


def run(
    params: Params, records_path: Path, labels_path: Path | None, out_dir: Path
) -> doc.OnlineReportJson:
    """Write ``online-report.json`` and ``online-report.md`` in ``out_dir`` (both or neither)."""
    from mlops.core.artifacts import ONLINE_JSON, ONLINE_MD, write_atomic

    task = task_of(params)
    traffic = load(records_path, params)
    out = None if labels_path is None else outcomes(traffic, labels_path, params)
    decided, reasons = verdict(out, params.gate.online.min_labelled)
    answered = traffic.frame[ROUTE].value_counts()
    report = doc.OnlineReportJson(
        registered_model=params.mlflow.registered_model,
        task=task.name,
        records=str(records_path),
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        champion_version=traffic.versions[CHAMPION],
        challenger_version=traffic.versions[CHALLENGER],
        rows=traffic.rows,
        paired_rows=len(traffic.frame),
        answered={role: int(answered.get(role, 0)) for role in ROLES},
        **answers(traffic, task, params.report.bootstrap.confidence),
        latency=latency(traffic),
        outcomes=out,
        min_labelled=params.gate.online.min_labelled,
        verdict=decided,
        reasons=reasons,
    )
    markdown = doc.markdown(report)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / ONLINE_MD.name, markdown)
    report.write(out_dir / ONLINE_JSON.name)
    return report
