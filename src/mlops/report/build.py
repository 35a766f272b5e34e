"""``mlops report``: the PR report, the candidate (this checkout's model) against a baseline.

The baseline (``report.baseline``) is the model on ``main`` or the registry's ``@champion``.
**Both models are scored on this checkout's test split**, so a data change does not make the
comparison meaningless. ``build`` is the pure part: both evaluations in, one
:class:`~mlops.report.schema.ReportJson` out, rendered to markdown section by section
(``report.sections``); ``run`` does the git / DVC / file work and writes the markdown
(``--output``), its images and ``report.json`` under the report folder, and appends the
markdown to ``$GITHUB_STEP_SUMMARY`` when that is set.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from mlops.core.artifacts import (
    IMPORTANCE,
    PARAMS,
    REPORT_DIR,
    REPORT_JSON,
    REPORT_MD,
    TARGET,
    VALIDATION,
    git_commit,
    read_prepared,
    read_raw,
    write_atomic,
)
from mlops.core.errors import MlopsError
from mlops.report import compare, sections, uncompared
from mlops.report import gate as gate_mod
from mlops.report.baseline import Baseline, BaselineError, choose_baseline
from mlops.report.schema import (
    BaselineSide,
    BootstrapDoc,
    Curves,
    Drift,
    IntervalDoc,
    MetricPair,
    ModelSide,
    Pair,
    ReportJson,
    SegmentDoc,
    Segments,
    Validation,
)
from mlops.tasks import task_of
from mlops.tracking import provenance

if TYPE_CHECKING:
    import pandas as pd

    from mlops.core.config import Params
    from mlops.core.results import Evaluation

TOP_IMPORTANCE = 10  # features shown in the importance chart


@dataclass
class Report:
    markdown: str
    data: ReportJson
    images: dict[str, Path] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        """``report.json`` as a document."""
        return self.data.model_dump(mode="json", exclude_unset=True)


def actions_links() -> dict[str, str]:
    """Links to the workflow run and its artifacts when running in GitHub Actions."""
    env = os.environ
    if env.get("GITHUB_ACTIONS") != "true":
        return {}
    server, repo, run_id = (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    )
    if not (server and repo and run_id):
        return {}
    run = f"{server.rstrip('/')}/{repo}/actions/runs/{run_id}"
    return {"run": run, "artifacts": f"{run}#artifacts"}


def validation_summary(doc: dict[str, Any] | None) -> Validation | None:
    if doc is None:
        return None
    return Validation(
        success=bool(doc.get("success")),
        evaluated=doc.get("evaluated"),
        failed=doc.get("failed"),
        suite=doc.get("suite"),
    )


@dataclass
class Inputs:
    """Everything ``build`` needs, already read."""

    params: Params
    params_doc: dict[str, Any]
    baseline: Baseline
    candidate_eval: Evaluation
    baseline_eval: Evaluation
    test_rows: int
    commit: str | None
    data_version: dict[str, Any]
    raw: pd.DataFrame
    validation: dict[str, Any] | None
    drift: dict[str, Any] | None
    importance: list[dict[str, Any]]
    images: dict[str, Path]
    image_base: Path  # the directory the markdown lives in (image links are relative to it)
    record: dict[str, Any] | None = None  # ci.reproduction's record of this checkout
    # The paired bootstrap (compare.uncertainty): per metric, and per segment.
    intervals: dict[str, IntervalDoc] = field(default_factory=dict)
    segments: list[dict[str, Any]] | None = None


def build(inp: Inputs) -> Report:
    """The report of a comparison: ``report.json`` and the markdown rendered from it (no I/O)."""
    from mlops.stages.plots import confusion_counts

    params, base = inp.params, inp.baseline
    cand_m, base_m = inp.candidate_eval.metrics, inp.baseline_eval.metrics
    boot = params.report.bootstrap
    results = gate_mod.evaluate(
        params.gate, dict(cand_m), dict(base_m), candidate_label=sections.CANDIDATE,
        baseline_label=base.label, confidence=boot.confidence,
        intervals={m: (i.low, i.high) for m, i in inp.intervals.items()},
    )  # fmt: skip
    failed = gate_mod.failures(results)
    drift = None
    if inp.drift is not None:
        columns = inp.drift["columns"]
        top = sorted(columns, key=lambda c: -float(columns[c]["psi"]))
        drift = Drift(
            features=len(columns),
            drifted_columns=inp.drift["drifted_columns"],
            target=inp.drift["target"],
            top=[{"feature": n, **columns[n]} for n in top[: params.report.drift_features]],
        )
    task = task_of(params)
    curves = confusion = None
    if task.name == "binary":  # the Mermaid charts and the TN/FP/FN/TP table
        grid = np.linspace(0.0, 1.0, params.report.mermaid_points)
        (base_roc, base_pr), (cand_roc, cand_pr) = (
            compare.curves_on_grid(inp.baseline_eval, grid),
            compare.curves_on_grid(inp.candidate_eval, grid),
        )
        curves = Curves(
            grid=[float(x) for x in grid],
            roc=Pair(baseline=base_roc, candidate=cand_roc),
            precision_recall=Pair(baseline=base_pr, candidate=cand_pr),
        )
        confusion = Pair(
            baseline=confusion_counts(inp.baseline_eval),
            candidate=confusion_counts(inp.candidate_eval),
        )
    data = ReportJson(
        verdict="failed" if failed else "passed",
        failures=failed,
        task=task.name,
        validation=validation_summary(inp.validation),
        gate=results,
        candidate=ModelSide(
            commit=inp.commit,
            model_type=params.model_type,
            data_md5=inp.data_version.get("md5"),
            rows=len(inp.raw),
            threshold=inp.candidate_eval.threshold,
        ),
        baseline=BaselineSide(
            kind=base.kind,
            label=base.label,
            commit=base.commit,
            model_type=base.model_type,
            how=base.how,
            data_md5=base.data_md5,
            threshold=inp.baseline_eval.threshold,
        ),
        test_rows=inp.test_rows,
        metrics=MetricPair(candidate=cand_m, baseline=base_m),
        bootstrap=BootstrapDoc(
            resamples=boot.resamples,
            confidence=boot.confidence,
            seed=boot.seed,
            stratified_by="label" if task.classification else "none",
            paired=True,
        ),
        regression_rule=params.gate.regression_rule,
        intervals=inp.intervals,
        segments=None
        if inp.segments is None or params.evaluate.segment_column is None
        else Segments(
            column=params.evaluate.segment_column,
            rows=[
                SegmentDoc(
                    value=s["value"],
                    rows=s["rows"],
                    target=s["target"],
                    intervals=s["intervals"],
                )
                for s in inp.segments
            ],
        ),
        params_changed=compare.params_diff(base.params, inp.params_doc),
        data=compare.data_diff(base.raw, inp.raw, params.data.id_column),
        drift=drift,
        curves=curves,
        confusion=confusion,
        importance=inp.importance[:TOP_IMPORTANCE],
        images={k: str(p) for k, p in inp.images.items()} if params.report.publish_images else {},
        links=actions_links(),
    )
    if inp.record is not None:
        data.record = inp.record
    return Report(sections.comparison(data, inp.image_base), data, images=inp.images)


def run(
    params: Params,
    *,
    params_path: Path = PARAMS,
    baseline: str = "auto",
    base_rev: str | None = None,
    base_name: str | None = None,
    output: Path = REPORT_MD,
    out_dir: Path = REPORT_DIR,
) -> Report:
    """CLI wrapper: this checkout's model + test split, the baseline, then the files."""
    import json

    from mlops.ci import reproduction
    from mlops.stages import drift as drift_mod
    from mlops.stages import train as train_mod
    from mlops.stages.importance import recorded_importance
    from mlops.stages.plots import render_comparison, render_images
    from mlops.stages.prepare import clean

    validation = None
    if VALIDATION.exists():
        validation = json.loads(VALIDATION.read_text(encoding="utf-8"))
    if validation is not None and not validation.get("success", False):
        # No model was trained: the reviewer still gets a report saying which data is wrong.
        if out_dir.exists():
            shutil.rmtree(out_dir)
        return _publish(uncompared.validation_failed(params, validation), output, out_dir)

    model = train_mod.load()  # fail early (exit 1) before touching git / DVC
    test = read_prepared("test")
    raw = read_raw(params.data.path)
    params_doc = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    base = choose_baseline(params, baseline, base_rev, base_name)
    print(f"report: baseline {base.label} @ {(base.commit or '?')[:12]}: {base.how}")

    bins = params.evaluate.calibration_bins
    task = task_of(params)
    candidate_eval, cand_p = compare.score(
        model, test, params.features.used, sections.CANDIDATE, bins, task
    )
    if IMPORTANCE.exists():  # the evaluate stage's, for this very model and test split
        importance = json.loads(IMPORTANCE.read_text(encoding="utf-8"))
    else:
        importance = recorded_importance(model, test, params)
    try:
        baseline_eval, base_p = compare.score(
            base.model, test, base.features, base.label, bins, task
        )
    except BaselineError as exc:  # e.g. a first PR on a new table: nothing to compare with
        print(f"report: no comparison: {exc}")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shown = render_images(candidate_eval, importance, out_dir)
        alone = uncompared.without_baseline(
            params, base, str(exc), candidate_eval, raw=raw, test_rows=len(test),
            validation=validation, images={p.stem: p for p in sorted(shown.glob("*.png"))},
            image_base=output.resolve().parent,
        )  # fmt: skip
        return _publish(alone, output, out_dir)
    segment_column = params.evaluate.segment_column
    intervals, segments = compare.uncertainty(
        test[TARGET].to_numpy(), base_p, cand_p, task=task, labels=candidate_eval.labels,
        thresholds=(baseline_eval.threshold, candidate_eval.threshold),
        settings=params.report.bootstrap,
        metrics={m: v - baseline_eval.metrics[m] for m, v in candidate_eval.metrics.items()},
        segments=test[segment_column] if segment_column in test.columns else None,
    )  # fmt: skip

    drift = None
    if base.raw is not None:
        try:
            drift = drift_mod.compare(clean(base.raw, params), clean(raw, params), params)
        except MlopsError as exc:
            print(f"report: drift not computed: {exc}")
    try:
        record = reproduction.record()
    except MlopsError as exc:
        print(f"report: no reproduction record in the comment: {exc}")
        record = None

    if out_dir.exists():
        shutil.rmtree(out_dir)
    images = render_comparison(
        candidate_eval, baseline_eval, importance, out_dir, baseline_label=base.label
    )
    report = build(
        Inputs(
            params=params,
            params_doc=params_doc,
            baseline=base,
            candidate_eval=candidate_eval,
            baseline_eval=baseline_eval,
            test_rows=len(test),
            commit=git_commit(),
            data_version=provenance.data_version(),
            raw=raw,
            validation=validation,
            drift=drift,
            importance=importance,
            images=images,
            image_base=output.resolve().parent,
            record=record,
            intervals=intervals,
            segments=segments,
        )
    )
    return _publish(report, output, out_dir)


def _publish(report: Report, output: Path, out_dir: Path) -> Report:
    """Write report.json and the markdown (and the job summary in GitHub Actions)."""
    from mlops.ci.workflow import write_summary

    write_atomic(out_dir / REPORT_JSON.name, report.data.to_json())
    write_atomic(output, report.markdown)
    write_summary(report.markdown)
    print(f"report: {output} and {out_dir}/ written; gate {report.data.verdict}")
    for reason in report.data.failures:
        print(f"  - {reason}")
    return report
