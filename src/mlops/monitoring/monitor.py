"""``mlops monitor``: the current production data against what the model was trained on.

``judge`` is the pure function (reference and current data in, the typed report out); ``run``
resolves the model and its training data (:mod:`mlops.monitoring.reference`), reads the
current data (:mod:`mlops.monitoring.current`), and writes ``monitor.json`` and
``monitor.md`` together, only once everything is known (a failure leaves neither).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mlops.core.artifacts import MONITOR_DIR, MONITOR_JSON, MONITOR_MD, TARGET, labels_of
from mlops.core.errors import DataError
from mlops.monitoring import checks
from mlops.monitoring.current import Current
from mlops.monitoring.reference import Reference
from mlops.monitoring.report import (
    CurrentRef,
    DriftDoc,
    MetricShift,
    ModelRef,
    MonitorJson,
    PerformanceDoc,
    Verdict,
    shift,
)
from mlops.tasks import task_of

if TYPE_CHECKING:
    from mlops.core.config import Params


def judge(reference: Reference, current: Current, params: Params, path: str) -> MonitorJson:
    """The verdict on ``current`` for ``reference``'s model; ``params`` hold the thresholds
    in force (this checkout's), ``reference.params`` the model's own features and task."""
    own, frame = reference.params, current.frame
    if len(frame) < params.monitor.min_rows:
        raise DataError(
            f"--current {path}: {len(frame)} rows, fewer than monitor.min_rows "
            f"({params.monitor.min_rows}): too few to judge drift"
        )
    task, model = task_of(own), reference.model
    test_scores, test_pred = checks.predictions(model, reference.test, own)
    cur_scores, cur_pred = checks.predictions(model, frame, own)
    found = checks.drift(reference.frame, frame, own, params, (test_pred, cur_pred))
    drift = DriftDoc(
        tests=found["tests"],
        alpha=found["alpha"],
        psi_threshold=params.drift.psi_threshold,
        columns={name: shift(result) for name, result in found["columns"].items()},
        drifted_columns=found["drifted_columns"],
        prediction=shift(found["prediction"]),
        target=None if found["target"] is None else shift(found["target"]),
    )
    performance = None
    labelled = (
        np.flatnonzero(frame[TARGET].notna().to_numpy()) if current.labelled else np.array([])
    )
    if len(labelled) >= params.monitor.min_rows:
        perf = checks.performance(
            task,
            (reference.test[TARGET].to_numpy(), test_scores),
            (frame[TARGET].to_numpy()[labelled], cur_scores[labelled]),
            getattr(model, "threshold_", None),
            params,
        )
        performance = PerformanceDoc(
            headline=perf["headline"],
            confidence=perf["confidence"],
            min_drop=perf["min_drop"],
            rows=perf["rows"],
            degraded=perf["degraded"],
            metrics={
                metric: MetricShift(registered=reference.registered_metrics.get(metric), **m)
                for metric, m in perf["metrics"].items()
            },
        )
    verdict, reasons = _verdict(drift, performance, len(labelled), params)
    return MonitorJson(
        verdict=verdict,
        reasons=reasons,
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        model=ModelRef(
            label=reference.label,
            version=reference.version,
            commit=reference.commit,
            data_md5=reference.data_md5,
            training_data=reference.data,
            task=task.name,
            reference_rows=len(reference.frame),
            test_rows=len(reference.test),
        ),
        current=CurrentRef(
            path=path,
            source=current.source,  # type: ignore[arg-type]
            rows=len(frame),
            labelled_rows=len(labelled),
            versions=current.versions,
        ),
        drift=drift,
        performance=performance,
    )


def _verdict(
    drift: DriftDoc, performance: PerformanceDoc | None, labelled: int, params: Params
) -> tuple[Verdict, list[str]]:
    from mlops.monitoring.report import metric_name

    reasons: list[str] = []
    if performance is not None and performance.degraded:
        m = performance.metrics[performance.headline]
        reasons.append(
            f"{metric_name(performance.headline)} {m.current:.4f} on {performance.rows:,} labelled "
            f"production rows against {m.reference:.4f} on the test split: "
            f"{m.delta:+.4f}, interval [{m.delta_interval[0]:+.4f}, {m.delta_interval[1]:+.4f}]"
        )
    for name in drift.drifted_columns:
        reasons.append(f"feature {name!r} drifted: {'; '.join(drift.columns[name].reasons)}")
    if drift.prediction.drifted:
        reasons.append(f"the model's predictions drifted: {'; '.join(drift.prediction.reasons)}")
    if drift.target is not None and drift.target.drifted:
        reasons.append(f"the target drifted: {'; '.join(drift.target.reasons)}")
    if performance is not None and performance.degraded:
        return "degraded", reasons
    if reasons:
        return "drift", reasons
    if 0 < labelled < params.monitor.min_rows:
        reasons.append(
            f"only {labelled} labelled rows (monitor.min_rows {params.monitor.min_rows}): "
            "the metrics were not measured"
        )
    return "ok", reasons


def run(
    params: Params,
    current_path: Path,
    *,
    model_spec: str = "auto",
    reference_path: Path | None = None,
    workdir: Path = Path("build/monitor"),
    out_dir: Path = MONITOR_DIR,
) -> MonitorJson:
    from mlops.monitoring import current, reference, report

    ref = reference.resolve(params, model_spec, workdir, reference_path)
    cur = current.load(current_path, ref.params, labels_of(ref.frame))
    doc = judge(ref, cur, params, str(current_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    from mlops.core.artifacts import write_atomic

    write_atomic(out_dir / MONITOR_MD.name, report.markdown(doc))
    doc.write(out_dir / MONITOR_JSON.name)
    return doc
