"""The reports without a comparison: data that failed validation (nothing was trained), and a
model with no comparable baseline (the PR changes the task, the classes or columns the baseline
needs, as a team's first PR on its own table does). Each is a ``report.json`` and its markdown,
so the PR still gets its one comment and ``mlops gate`` its verdict."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core.artifacts import VALIDATION, git_commit
from mlops.report import gate as gate_mod
from mlops.report import sections
from mlops.report.schema import MetricPair, ModelSide, ReportJson
from mlops.tracking import provenance

if TYPE_CHECKING:
    import pandas as pd

    from mlops.core.config import Params
    from mlops.core.results import Evaluation
    from mlops.report.baseline import Baseline
    from mlops.report.build import Report


def validation_failed(params: Params, validation: dict[str, Any]) -> Report:
    """The report of a PR whose data failed validation: the failures, no model comparison."""
    from mlops.report.build import Report, actions_links, validation_summary
    from mlops.stages.outcomes import failure_sentences

    sentences = failure_sentences(validation) or [f"see {VALIDATION}"]
    summary = validation_summary(validation)
    assert summary is not None
    summary.data = str(validation.get("data", params.data.path))
    summary.suite = str(validation.get("suite", params.validation.suite))
    summary.failed = validation.get("failed", len(sentences))
    rows = validation.get("rows")
    summary.rows = rows if isinstance(rows, int) else None
    data = ReportJson(
        verdict="failed",
        failures=[f"data validation failed: {sentence}" for sentence in sentences],
        validation=summary,
        validation_failed=True,
        failed_expectations=sentences,
        commit=git_commit(),
        data_version=provenance.data_version(),
        model_type=params.model_type,
        links=actions_links(),
    )
    return Report(validation_failed_markdown(data), data)


def validation_failed_markdown(report: ReportJson) -> str:
    v = report.validation
    assert v is not None
    md = [
        "## ❌ Quality gate failed: the data did not pass validation",
        f"**Model:** `{report.model_type}` (not trained) · "
        f"**Data:** `{(report.data_version or {}).get('md5') or '?'}`"
        + (f" ({v.rows:,} rows)" if v.rows is not None else "")
        + f" · **Commit:** `{(report.commit or '?')[:12]}`",
        "",
        f"Validation of `{v.data}` against the suite `{v.suite}` failed "
        f"({v.failed} of {'?' if v.evaluated is None else v.evaluated} "
        "expectations), so nothing was trained and there is no model to compare with main. "
        "Fix the data, or the suite if the change is intended, and push again.",
        "",
        "### Failed expectations",
        "",
        *[f"- {sentence}" for sentence in report.failed_expectations],
        "",
        *sections.links(report, "Data Docs"),
    ]
    return "\n".join(md)


def without_baseline(
    params: Params,
    base: Baseline,
    reason: str,
    candidate: Evaluation,
    *,
    raw: pd.DataFrame,
    test_rows: int,
    validation: dict[str, Any] | None,
    images: dict[str, Path],
    image_base: Path,
) -> Report:
    """This PR's model alone, judged by the gate's minimums (its ``max_regression`` rules need a
    baseline): why there is no comparison, the metrics, the model's own plots."""
    from mlops.report.build import Report, actions_links, validation_summary

    results = gate_mod.evaluate(params.gate, dict(candidate.metrics), None,
                                candidate_label=sections.CANDIDATE)  # fmt: skip
    failed = gate_mod.failures(results)
    data = ReportJson(
        verdict="failed" if failed else "passed",
        failures=failed,
        task=params.data.task,
        validation=validation_summary(validation),
        gate=results,
        candidate=ModelSide(
            commit=git_commit(),
            model_type=params.model_type,
            data_md5=provenance.data_version().get("md5"),
            rows=len(raw),
            threshold=candidate.threshold,
        ),
        test_rows=test_rows,
        metrics=MetricPair(candidate=candidate.metrics, baseline={}),
        no_baseline=f"{base.label} @ {(base.commit or '?')[:12]}: {reason}",
        images={k: str(p) for k, p in images.items()} if params.report.publish_images else {},
        links=actions_links(),
    )
    return Report(without_baseline_markdown(data, image_base), data, images=images)


def without_baseline_markdown(report: ReportJson, image_base: Path) -> str:
    cand, m = report.candidate, report.metrics
    assert cand is not None and m is not None
    icon, word = ("✅", "passed") if report.verdict == "passed" else ("❌", "failed")
    rules: dict[str, list[Any]] = {}
    for r in report.gate:
        rules.setdefault(r.metric, []).append(r)
    rows = []
    for metric in [x for x in sections.TASKS[report.task].report_order if x in m.candidate]:
        checks = rules.get(metric, [])
        result = " ".join("✅" if r.passed else "❌" for r in checks) or "-"
        rule = "; ".join(r.rule for r in checks) or "-"
        rows.append([metric, sections.fmt(m.candidate[metric]), rule, result])
    shown = [
        sections.image_link(report, name, name.replace("_", " "), image_base)
        for name in report.images
    ]
    md = [
        f"## {icon} Quality gate {word} (minimums only): no comparable baseline",
        *[f"- {reason}" for reason in report.failures],
        "",
        f"**Model:** `{cand.model_type}` ({report.task}) · **Data:** `{cand.data_md5 or '?'}`"
        + (f" ({cand.rows:,} rows)" if cand.rows is not None else "")
        + f" · **Commit:** `{(cand.commit or 'uncommitted')[:12]}`",
        "",
        f"**Not compared:** {report.no_baseline}. The gate applied its minimums only; its "
        "`max_regression` rules apply once the base branch has a model of this task and "
        "these columns (merge this PR).",
        "",
        "### Metrics",
        "",
        *sections.table(["metric", sections.CANDIDATE, "gate rule", "result"], rows),
        "",
        *[line for image in shown if image for line in (image, "")],
        *sections.links(report),
    ]
    return "\n".join(md).rstrip("\n") + "\n"
