"""``online-report.json`` (typed: ``mlops promote --evidence`` reads it back) and its Markdown
(``online-report.md``, the job summary): champion vs challenger on the same live traffic."""

from __future__ import annotations

from mlops.core.documents import Document, JsonFile
from mlops.monitoring.report import metric_name
from mlops.report.schema import IntervalDoc

BETTER, WORSE = "challenger better", "challenger worse"
SAME = "no detectable difference"
NO_OUTCOMES, TOO_FEW = "no outcomes", "too few outcomes"
MEANING = {
    BETTER: "on the outcomes, the challenger's headline metric is better: its whole interval "
    "is on the better side",
    WORSE: "on the outcomes, the challenger's headline metric is worse: its whole interval is "
    "on the worse side",
    SAME: "on the outcomes, the interval of the headline metric's difference includes 0",
    NO_OUTCOMES: "no outcomes were given (--labels): the models are compared on their answers "
    "only, which says how they differ, not which is better",
    TOO_FEW: "too few recorded rows have an outcome to judge (gate.online.min_labelled)",
}


class Estimate(Document):
    """A figure and its confidence interval."""

    measure: str  # what it is, in words
    value: float
    low: float
    high: float


class LatencyDoc(Document):
    """One version's time per prediction call, over the recorded rows it scored."""

    version: str
    role: str  # champion | challenger
    path: str  # answer (on the response path) | shadow (off it)
    rows: int
    p50_ms: float
    p95_ms: float
    p99_ms: float


class OutcomeDoc(Document):
    champion: float
    challenger: float
    difference: IntervalDoc  # challenger minus champion, paired bootstrap interval


class OutcomesDoc(Document):
    path: str
    labelled: int  # recorded rows (with both models' outputs) that have an outcome
    headline: str
    confidence: float
    resamples: int
    metrics: dict[str, OutcomeDoc]


class OnlineReportJson(JsonFile):
    kind = "online report"
    written_by = "mlops online-report"

    registered_model: str
    task: str
    records: str
    created: str
    champion_version: str
    challenger_version: str
    rows: int  # recorded rows
    paired_rows: int  # ...that hold both models' outputs
    answered: dict[str, int]  # champion | challenger -> paired rows each answered
    agreement: Estimate
    score_difference: Estimate
    ks_statistic: float  # between the two models' score distributions
    ks_pvalue: float
    latency: list[LatencyDoc]
    outcomes: OutcomesDoc | None
    min_labelled: int
    verdict: str
    reasons: list[str]


def _interval(low: float, high: float) -> str:
    return f"[{low:+.4f}, {high:+.4f}]"


def markdown(doc: OnlineReportJson) -> str:
    lines = [
        f"## Champion vs challenger on live traffic: **{doc.verdict}**",
        "",
        f"{MEANING[doc.verdict].capitalize()}.",
        "",
    ]
    lines += [f"- {reason}" for reason in doc.reasons] + ([""] if doc.reasons else [])
    answered = ", ".join(f"{role} {n:,}" for role, n in doc.answered.items())
    lines += [
        "| | |",
        "|---|---|",
        f"| model | {doc.registered_model} ({doc.task}): champion v{doc.champion_version}, "
        f"challenger v{doc.challenger_version} |",
        f"| records | `{doc.records}`: {doc.rows:,} rows, {doc.paired_rows:,} with both "
        f"models' outputs (answered by {answered}) |",
        f"| created | {doc.created} |",
        "",
        "### What the two answered (no outcomes needed)",
        "",
        "| figure | value | interval |",
        "|---|---:|---|",
    ]
    for est in (doc.agreement, doc.score_difference):
        lines.append(f"| {est.measure} | {est.value:.4f} | [{est.low:.4f}, {est.high:.4f}] |")
    lines += [
        f"| Kolmogorov-Smirnov distance of the score distributions | {doc.ks_statistic:.4f} | "
        f"p = {doc.ks_pvalue:.2g} |",
        "",
        "### Latency per version (answer: the request's wait and call; shadow: the call)",
        "",
        "| version | role | path | rows | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for lat in doc.latency:
        lines.append(
            f"| v{lat.version} | {lat.role} | {lat.path} | {lat.rows:,} | {lat.p50_ms:.2f} | "
            f"{lat.p95_ms:.2f} | {lat.p99_ms:.2f} |"
        )
    lines += ["", "### On the outcomes", ""]
    out = doc.outcomes
    if out is None:
        lines.append("No outcomes given (`--labels`): only the answers were compared.")
        return "\n".join(lines) + "\n"
    lines += [
        f"{out.labelled:,} recorded rows have an outcome (`{out.path}`, joined by id); "
        f"intervals at {out.confidence:.0%}, paired bootstrap of {out.resamples:,} resamples "
        f"(challenger minus champion). The verdict follows {metric_name(out.headline)}.",
        "",
        "| metric | champion | challenger | difference | interval | |",
        "|---|---:|---:|---:|---|---|",
    ]
    for metric, m in out.metrics.items():
        d = m.difference
        lines.append(
            f"| {metric_name(metric)} | {m.champion:.4f} | {m.challenger:.4f} | {d.delta:+.4f} "
            f"| {_interval(d.low, d.high)} | {d.verdict} |"
        )
    return "\n".join(lines) + "\n"
