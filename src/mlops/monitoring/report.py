"""``monitor.json`` (one typed document, like ``report.json``) and ``monitor.md`` rendered from
it: the verdict and why, the model and its training data, the drift table, the prediction and
the target, and the metrics on labelled production data with their intervals."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from mlops.core.documents import Document, JsonFile
from mlops.tasks.base import DISPLAY

Verdict = Literal["ok", "drift", "degraded"]
MEANING = {
    "ok": "no material drift and no degradation",
    "drift": "the production data moved away from what the model was trained on",
    "degraded": "the model performs worse on labelled production data than on its test split",
}


class ColumnShift(Document):
    kind: Literal["numeric", "categorical"]
    psi: float
    pvalue: float  # the Kolmogorov-Smirnov or chi-square test's
    adjusted_pvalue: float  # Holm-adjusted over every test of the run
    drifted: bool
    reasons: list[str]
    detail: str  # means, new categories or the class share, in words


class DriftDoc(Document):
    tests: int
    alpha: float
    psi_threshold: float
    columns: dict[str, ColumnShift]
    drifted_columns: list[str]
    prediction: ColumnShift
    target: ColumnShift | None


class MetricShift(Document):
    registered: float | None  # recorded at registration (the model's tags)
    reference: float  # on the model's test split, recomputed
    reference_interval: list[float]
    current: float
    current_interval: list[float]
    delta: float  # current minus reference
    delta_interval: list[float]


class PerformanceDoc(Document):
    headline: str
    confidence: float
    min_drop: float
    rows: int
    metrics: dict[str, MetricShift]
    degraded: bool


class ModelRef(Document):
    label: str
    version: str
    commit: str | None
    data_md5: str | None
    training_data: str
    task: str
    reference_rows: int
    test_rows: int


class CurrentRef(Document):
    path: str
    source: Literal["table", "records"]
    rows: int
    labelled_rows: int
    versions: dict[str, int]  # records: rows per answering model version


class MonitorJson(JsonFile):
    kind: ClassVar[str] = "monitor report"
    written_by: ClassVar[str] = "mlops monitor"

    verdict: Verdict
    reasons: list[str]
    created: str
    model: ModelRef
    current: CurrentRef
    drift: DriftDoc
    performance: PerformanceDoc | None


def shift(result: dict[str, Any]) -> ColumnShift:
    """A column's result of :func:`mlops.monitoring.checks.drift` as its document."""
    if "delta" in result:
        detail = (
            f"share of {result['class']!r} {result['reference_share']:.3f} → "
            f"{result['current_share']:.3f}"
        )
    elif result["kind"] == "numeric":
        detail = f"mean {result['reference_mean']:.4g} → {result['current_mean']:.4g}"
    else:
        new = result.get("new_categories") or []
        detail = f"new categories: {', '.join(map(repr, new[:5]))}" if new else ""
    pvalue = result["ks_pvalue"] if result["kind"] == "numeric" else result["chi2_pvalue"]
    return ColumnShift(
        kind=result["kind"],
        psi=round(float(result["psi"]), 6),
        pvalue=float(pvalue),
        adjusted_pvalue=float(result["adjusted_pvalue"]),
        drifted=bool(result["drifted"]),
        reasons=list(result["reasons"]),
        detail=detail,
    )


def metric_name(metric: str) -> str:
    return DISPLAY.get(metric, metric)


def _interval(values: list[float]) -> str:
    return f"[{values[0]:.4f}, {values[1]:.4f}]"


def markdown(doc: MonitorJson, table_rows: int = 12) -> str:
    model, current, drift = doc.model, doc.current, doc.drift
    lines = [
        f"## Model monitoring: **{doc.verdict}**",
        "",
        f"{MEANING[doc.verdict].capitalize()}.",
        "",
    ]
    lines += [f"- {reason}" for reason in doc.reasons] + ([""] if doc.reasons else [])
    source = "the service's traffic records" if current.source == "records" else "a table"
    lines += [
        "| | |",
        "|---|---|",
        f"| model | {model.label} ({model.task}, commit `{(model.commit or 'none')[:12]}`) |",
        f"| trained on | {model.training_data}: {model.reference_rows:,} rows, "
        f"test split {model.test_rows:,} |",
        f"| current data | `{current.path}` ({source}): {current.rows:,} rows, "
        f"{current.labelled_rows:,} with the target |",
    ]
    if current.versions:
        served = ", ".join(f"v{k}: {v:,}" for k, v in sorted(current.versions.items()))
        lines.append(f"| answered by | {served} |")
    lines += [
        f"| drift rule | PSI >= {drift.psi_threshold} and Holm-adjusted p < {drift.alpha} "
        f"over {drift.tests} tests (family-wise false-alarm rate <= {drift.alpha}) |",
        f"| created | {doc.created} |",
        "",
        "### Drift",
        "",
        "| column | kind | PSI | p-value | Holm-adjusted | drifted | |",
        "|---|---|---:|---:|---:|:---:|---|",
    ]
    rows = sorted(drift.columns.items(), key=lambda kv: (not kv[1].drifted, -kv[1].psi))
    named = [("prediction", drift.prediction)]
    if drift.target is not None:
        named.append(("target", drift.target))
    for name, col in [*named, *rows[:table_rows]]:
        mark = "**yes**" if col.drifted else "no"
        lines.append(
            f"| {name} | {col.kind} | {col.psi:.3f} | {col.pvalue:.2g} | "
            f"{col.adjusted_pvalue:.2g} | {mark} | {col.detail} |"
        )
    if len(rows) > table_rows:
        lines.append(f"\n{len(rows) - table_rows} more columns in monitor.json.")
    perf = doc.performance
    lines += ["", "### Performance on labelled production data", ""]
    if perf is None:
        lines.append("The current data has no target values: only drift was checked.")
    else:
        level = f"{perf.confidence:.0%}"
        lines += [
            f"{perf.rows:,} labelled rows; intervals at {level} (bootstrap). Degraded when "
            f"the {metric_name(perf.headline)} difference's interval is wholly worse and the "
            f"drop is at least {perf.min_drop:.0%} of its test-split value.",
            "",
        ]
        registered = any(m.registered is not None for m in perf.metrics.values())
        head = "| metric |" + (" registered |" if registered else "")
        lines += [
            f"{head} test split | current | difference | interval |",
            "|---|" + ("---:|" if registered else "") + "---:|---:|---:|---|",
        ]
        for metric, m in perf.metrics.items():
            cell = "" if m.registered is None else f"{m.registered:.4f}"
            lines.append(
                f"| {metric_name(metric)} |"
                + (f" {cell} |" if registered else "")
                + f" {m.reference:.4f} | {m.current:.4f} | {m.delta:+.4f} | "
                f"{_interval(m.delta_interval)} |"
            )
    return "\n".join(lines) + "\n"
