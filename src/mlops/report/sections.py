"""The report's markdown, one function per section, each rendered from ``report.json``
(:class:`~mlops.report.schema.ReportJson`) and nothing else: to change what a section shows,
change its function here (and, for a new fact, the schema and ``build``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mlops.core.artifacts import VALIDATION
from mlops.report.bootstrap import WORSE
from mlops.report.schema import IntervalDoc, ReportJson
from mlops.tasks import TASKS
from mlops.tasks.base import DISPLAY, Task

CANDIDATE = "this PR"  # how the report names the PR's model


def _task(report: ReportJson) -> Task:
    return TASKS[report.task]


def _name(metric: str) -> str:
    return DISPLAY.get(metric, metric)


# --- markdown building blocks -------------------------------------------------------------------


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != 0 else "0"
    if isinstance(value, str):
        return value
    return json.dumps(value)  # true / false / null / lists, as in params.yaml


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out


def details(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _mermaid_list(values: list[float] | list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else f"{v:g}" for v in values) + "]"


def mermaid_curves(
    title: str,
    x_label: str,
    y_label: str,
    grid: list[float],
    series: list[list[float]],
    *,
    y_range: tuple[float, float] = (0.0, 1.0),
    x_format: str = "{:.2f}",
) -> str:
    """An ``xychart-beta`` line chart (GitHub renders Mermaid in comments)."""
    low, high = y_range
    lines = [
        "```mermaid",
        "xychart-beta",
        f'    title "{title}"',
        f'    x-axis "{x_label}" {_mermaid_list([x_format.format(x) for x in grid])}',
        f'    y-axis "{y_label}" {low:.4g} --> {high:.4g}',
    ]
    lines += [f"    line {_mermaid_list(s)}" for s in series]
    lines.append("```")
    return "\n".join(lines)


def mermaid_bars(title: str, labels: list[str], values: list[float], y_label: str) -> str:
    top = max([*values, 0.0])
    lines = [
        "```mermaid",
        "xychart-beta",
        f'    title "{title}"',
        f"    x-axis {_mermaid_list(labels)}",
        f'    y-axis "{y_label}" 0 --> {max(top * 1.1, 0.001):.3f}',
        f"    bar {_mermaid_list([round(max(v, 0.0), 4) for v in values])}",
        "```",
    ]
    return "\n".join(lines)


# --- the sections of a comparison ---------------------------------------------------------------


def verdict(report: ReportJson) -> list[str]:
    assert report.baseline is not None
    label = report.baseline.label
    if report.verdict == "passed":
        return [f"## ✅ Quality gate passed: {CANDIDATE} vs {label}"]
    return [
        f"## ❌ Quality gate failed: {CANDIDATE} vs {label}",
        *[f"- {reason}" for reason in report.failures],
        "",
    ]


def overview(report: ReportJson) -> list[str]:
    cand, base = report.candidate, report.baseline
    assert cand is not None and base is not None
    rows = f" ({cand.rows:,} rows)" if cand.rows is not None else ""
    return [
        f"**Model:** `{cand.model_type}` ({base.label}: `{base.model_type}`) · "
        f"**Data:** `{cand.data_md5 or '?'}`{rows} · "
        f"**Commit:** `{(cand.commit or 'uncommitted')[:12]}`",
        "",
        f"**Baseline:** {base.label} @ `{(base.commit or '?')[:12]}`, {base.how}. Both models "
        f"are scored on this PR's test split ({report.test_rows:,} rows).",
        "",
    ]


def _level(report: ReportJson) -> str:
    return f"{report.bootstrap.confidence:.0%}" if report.bootstrap else "95%"


def _with_interval(delta: float, interval: IntervalDoc | None) -> str:
    if interval is None:
        return f"{delta:+.4f}"
    return f"{delta:+.4f} [{interval.low:+.4f}, {interval.high:+.4f}]"


def metrics(report: ReportJson) -> list[str]:
    assert report.metrics is not None and report.baseline is not None
    cand_m, base_m = report.metrics.candidate, report.metrics.baseline
    rules: dict[str, list[Any]] = {}
    for r in report.gate:
        rules.setdefault(r.metric, []).append(r)
    rows = []
    for metric in [m for m in _task(report).report_order if m in cand_m]:
        new, old = cand_m[metric], base_m.get(metric)
        interval = report.intervals.get(metric)
        delta = "" if old is None else _with_interval(new - old, interval)
        word = interval.verdict if interval is not None else "-"
        checks = rules.get(metric, [])
        rule = "; ".join(r.rule for r in checks) or "-"
        result = (" ".join("✅" if r.passed else "❌" for r in checks)) or "-"
        rows.append([metric, fmt(old), fmt(new), delta, word, rule, result])
    header = [
        "metric", report.baseline.label, CANDIDATE, f"Δ ({_level(report)} CI)", "difference",
        "gate rule", "result",
    ]  # fmt: skip
    return ["### Metrics", "", *table(header, rows), "", *detectable(report), *rule_notes(report)]


def detectable(report: ReportJson) -> list[str]:
    """How small a difference of the headline metric this test split can tell from noise."""
    headline = _task(report).headline
    interval = report.intervals.get(headline)
    if interval is None or report.bootstrap is None:
        return []
    half = (interval.high - interval.low) / 2
    how = "stratified by the label" if report.bootstrap.stratified_by == "label" else "of rows"
    return [
        f"With {report.test_rows:,} test rows, this comparison's {_name(headline)} difference is "
        f"known to ±{half:.4f} ({_level(report)} interval, {report.bootstrap.resamples:,} paired "
        f"resamples {how}): a smaller change cannot be told from noise.",
        "",
    ]


def rule_notes(report: ReportJson) -> list[str]:
    """Which regression rule the gate applied and, rule by rule, why it passed or failed."""
    rules = [r for r in report.gate if r.kind == "max_regression"]
    if not rules:
        return []
    if report.regression_rule == "significant":
        head = (
            "Regression rules (`gate.regression_rule: significant`): a rule fails only when the "
            f"whole {_level(report)} interval of the drop lies beyond the allowed drop."
        )
    else:
        head = (
            "Regression rules (`gate.regression_rule: point`) compare the point estimates; "
            "`significant` would fail a rule only when the whole interval of the drop lies "
            "beyond the allowed drop."
        )
    return [head, "", *[f"- {'✅' if r.passed else '❌'} {r.message}" for r in rules], ""]


def _worse_segments(report: ReportJson, metric: str) -> list[Any]:
    assert report.segments is not None
    return [
        s for s in report.segments.rows
        if s.intervals.get(metric) is not None and s.intervals[metric].verdict == WORSE
    ]  # fmt: skip


def segment_warning(report: ReportJson) -> list[str]:
    """A line at the top when a segment is detectably worse though the whole is not."""
    headline = _task(report).headline
    whole = report.intervals.get(headline)
    if report.segments is None or whole is None or whole.verdict == WORSE:
        return []
    worse = _worse_segments(report, headline)
    if not worse:
        return []
    column = report.segments.column
    parts = []
    for s in worse:
        i = s.intervals[headline]
        parts.append(f"{column} = {s.value} ({_name(headline)} {_with_interval(i.delta, i)})")
    return [f"⚠️ **Worse in a segment** although not overall: {'; '.join(parts)}.", ""]


def segments(report: ReportJson) -> list[str]:
    if report.segments is None or report.baseline is None:
        return []
    task, level = _task(report), _level(report)
    rows = []
    for s in report.segments.rows:
        cells = [f"`{s.value}`", f"{s.rows:,}", task.describe_summary(s.target)]
        for metric in task.segment_pair:
            i = s.intervals.get(metric)
            cells += ["-", "-"] if i is None else [_with_interval(i.delta, i), i.verdict]
        rows.append(cells)
    header = [report.segments.column, "rows", task.target_summary_name]
    for metric in task.segment_pair:
        header += [f"Δ {_name(metric)} ({level} CI)", _name(metric)]
    worse = len(_worse_segments(report, task.headline))
    return details(
        f"Per {report.segments.column}: {CANDIDATE} vs {report.baseline.label} "
        f"({worse} of {len(report.segments.rows)} segments detectably worse in "
        f"{_name(task.headline)})",
        table(header, rows),
    )


def params_changed(report: ReportJson) -> list[str]:
    assert report.baseline is not None
    label = report.baseline.label
    out = ["### Params changed", ""]
    if report.baseline.kind == "champion":
        return [*out, f"Not compared: the baseline is {label} (registry), not a git revision.", ""]
    if not report.params_changed:
        return [*out, f"No params changed versus {label}.", ""]
    rows = [[c["param"], f"`{fmt(c['old'])}`", f"`{fmt(c['new'])}`"] for c in report.params_changed]
    return [*out, *table(["param", label, CANDIDATE], rows), ""]


def data(report: ReportJson) -> list[str]:
    assert report.data is not None and report.baseline is not None
    base, cand, diff = report.baseline, report.candidate, report.data
    assert cand is not None
    out = ["### Data", ""]
    if diff["available"]:
        r = diff["rows"]
        same = base.data_md5 == cand.data_md5
        out.append(
            f"- Rows: {r['baseline']:,} ({base.label}) → {r['current']:,} ({CANDIDATE}): "
            f"**+{r['added']:,} added, −{r['removed']:,} removed** "
            f"(matched by {diff['matched_by']})" + (" · same data version" if same else "")
        )
        s = diff["schema"]
        if s["added_columns"] or s["removed_columns"] or s["changed_types"]:
            parts = []
            if s["added_columns"]:
                parts.append("added " + ", ".join(f"`{c}`" for c in s["added_columns"]))
            if s["removed_columns"]:
                parts.append("removed " + ", ".join(f"`{c}`" for c in s["removed_columns"]))
            parts += [f"`{t['column']}` {t['old']} → {t['new']}" for t in s["changed_types"]]
            out.append("- Schema: " + "; ".join(parts))
        else:
            out.append("- Schema: no changes")
    else:
        out.append(f"- Rows: {cand.rows:,} (the baseline's data is not available to compare)")
    v = report.validation
    if v is None:
        out.append(f"- Validation: not run (no {VALIDATION})")
    else:
        icon = "✅" if v.success else "❌"
        evaluated = "?" if v.evaluated is None else v.evaluated
        failed = "?" if v.failed is None else v.failed
        out.append(
            f"- Validation: {icon} {evaluated} expectations evaluated, "
            f"{failed} failed (suite `{v.suite or '?'}`)"
        )
    out.append("")
    return out


def drift(report: ReportJson) -> list[str]:
    d, base = report.drift, report.baseline
    if d is None or base is None:
        return []
    target = d.target
    body = table(
        ["feature", "kind", "PSI", "test p-value", "drifted"],
        [
            [
                f"`{c['feature']}`",
                c["kind"],
                f"{c['psi']:.4f}",
                f"{c.get('ks_pvalue', c.get('chi2_pvalue')):.3g}",
                "⚠️ " + "; ".join(c["reasons"]) if c["drifted"] else "no",
            ]
            for c in d.top
        ],
    )
    body += [
        "",
        f"Target `{target['column']}`: {target['description']}"
        f"{' ⚠️ drifted' if target['drifted'] else ''}",
    ]
    return details(
        f"Drift vs {base.label}: {len(d.drifted_columns)} of {d.features} features "
        f"drifted (top {len(d.top)} by PSI)",
        body,
    )


def curves(report: ReportJson) -> list[str]:
    c, m, base = report.curves, report.metrics, report.baseline
    if c is None:  # a task without Mermaid charts: its images are the plots
        return ["### Plots", ""]
    assert m is not None and base is not None
    label = base.label
    return [
        "### Plots",
        "",
        f"Lines: first {label}, second {CANDIDATE}.",
        "",
        mermaid_curves(
            f"ROC: {label} AUC {m.baseline['roc_auc']:.3f}, "
            f"{CANDIDATE} {m.candidate['roc_auc']:.3f}",
            "False positive rate",
            "True positive rate",
            c.grid,
            [c.roc.baseline, c.roc.candidate],
        ),
        "",
        mermaid_curves(
            f"Precision-recall: {label} AP {m.baseline['pr_auc']:.3f}, "
            f"{CANDIDATE} {m.candidate['pr_auc']:.3f}",
            "Recall",
            "Precision",
            c.grid,
            [c.precision_recall.baseline, c.precision_recall.candidate],
        ),
        "",
    ]


def image_link(report: ReportJson, name: str, alt: str, image_base: Path) -> str | None:
    path = report.images.get(name)
    return None if path is None else f"![{alt}]({os.path.relpath(path, image_base)})"


def confusion(report: ReportJson, image_base: Path) -> list[str]:
    """The task's comparison images (binary: after the confusion counts of both models)."""
    cm, base, cand = report.confusion, report.baseline, report.candidate
    assert base is not None and cand is not None
    body: list[str] = []
    if cm is not None:
        rows = []
        for label, counts, threshold in (
            (base.label, cm.baseline, base.threshold),
            (CANDIDATE, cm.candidate, cand.threshold),
        ):
            (tn, fp), (fn, tp) = counts
            cut = "-" if threshold is None else f"{threshold:.3f}"
            rows.append([label, cut, str(tn), str(fp), str(fn), str(tp)])
        body = [*table(["model", "threshold", "TN", "FP", "FN", "TP"], rows), ""]
    images = _task(report).comparison_images
    shown = [i for i in (image_link(report, n, a, image_base) for n, a in images.items()) if i]
    if shown:
        # Each image a paragraph of its own: CML rewrites the links of a line that holds two.
        body += [line for image in shown for line in (image, "")]
    else:
        body.append(
            "_Images not published (`report.publish_images: false`); they are in the "
            "workflow's artifacts._"
        )
    if cm is None:  # no Mermaid charts above: the images are the plots, shown open
        return body
    return details("Confusion matrices and curve images", body)


def importance(report: ReportJson, image_base: Path) -> list[str]:
    if not report.importance:
        return []
    meaning = _task(report).importance_meaning
    body = [
        mermaid_bars(
            f"Permutation importance, {CANDIDATE} ({meaning})",
            [str(r["feature"]) for r in report.importance],
            [float(r["importance"]) for r in report.importance],
            meaning,
        ),
        "",
    ]
    link = image_link(report, "importance", "Permutation importance", image_base)
    if link:
        body.append(link)
    return details(f"Feature importance ({CANDIDATE})", body)


def links(report: ReportJson, second: str = "Artifacts") -> list[str]:
    if not report.links:
        return []
    return [f"[Workflow run]({report.links['run']}) · [{second}]({report.links['artifacts']})", ""]


def comparison(report: ReportJson, image_base: Path) -> str:
    """The whole markdown of a comparison, section by section."""
    md = [
        *verdict(report),
        *segment_warning(report),
        *overview(report),
        *metrics(report),
        *segments(report),
        *params_changed(report),
        *data(report),
        *drift(report),
        *curves(report),
        *confusion(report, image_base),
        *importance(report, image_base),
    ]
    if report.links:
        md += ["---", *links(report)]
    markdown = "\n".join(md).rstrip("\n") + "\n"
    if report.record is not None:  # hidden: what the merge is checked against
        from mlops.ci.reproduction import record_comment

        markdown = markdown.rstrip("\n") + "\n\n" + record_comment(report.record)
    return markdown
