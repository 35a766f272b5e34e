"""``report.json``: everything a report says, as one typed document.

``mlops report`` computes a :class:`ReportJson` once; the markdown is rendered from it
(``sections``), it is written as ``report.json``, and ``mlops gate`` reads it back through the
same model, so a new fact of the report is added here, filled in ``build`` and shown in one
section, never written twice. A report of data that failed validation has no comparison: only
``verdict``, ``failures``, ``validation`` and the fields after ``validation_failed`` are set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from mlops.core.errors import ArtifactError
from mlops.report.gate import RuleResult


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSide(_Doc):
    """One of the two models compared."""

    commit: str | None
    model_type: str
    data_md5: str | None
    threshold: float | None = None  # binary models only
    rows: int | None = None  # the candidate's raw rows


class BaselineSide(ModelSide):
    kind: Literal["main", "champion"]  # a git revision through DVC, or the MLflow registry
    label: str  # how the report names it: "main", "champion v3"
    how: str  # how it was obtained: restored from the DVC cache, retrained, registry


class Pair(_Doc):
    """The same measure of both models."""

    baseline: Any
    candidate: Any


class MetricPair(_Doc):
    baseline: dict[str, float]
    candidate: dict[str, float]


class Curves(_Doc):
    """ROC and precision-recall of both models at the same x values (the Mermaid charts)."""

    grid: list[float]
    roc: Pair
    precision_recall: Pair


class Validation(_Doc):
    """The validate stage's verdict on the data (its report, summed up)."""

    success: bool
    evaluated: int | None = None
    failed: int | None = None
    suite: str | None = None
    data: str | None = None
    rows: int | None = None


class Drift(_Doc):
    features: int  # how many features were compared
    drifted_columns: list[str]
    target: dict[str, Any]
    top: list[dict[str, Any]]  # the most shifted features, by PSI


class IntervalDoc(_Doc):
    """A metric's difference (this PR minus the baseline) and its confidence interval."""

    delta: float
    low: float
    high: float
    verdict: str  # better | worse | no detectable difference


class BootstrapDoc(_Doc):
    """How the intervals were computed (report.bootstrap in params.yaml)."""

    resamples: int
    confidence: float
    seed: int
    stratified_by: str = "label"
    paired: bool = True


class SegmentDoc(_Doc):
    value: str
    rows: int
    target: dict[str, Any]  # the task's summary of the segment's target (Task.summarise_target)
    intervals: dict[str, IntervalDoc]


class Segments(_Doc):
    column: str  # evaluate.segment_column
    rows: list[SegmentDoc]


class ReportJson(_Doc):
    verdict: Literal["passed", "failed"]
    failures: list[str]
    task: str = "binary"  # data.task (mlops.tasks): what the metrics and the plots are
    validation: Validation | None = None
    # --- the comparison (absent when the data failed validation) ---
    gate: list[RuleResult] = []
    candidate: ModelSide | None = None
    baseline: BaselineSide | None = None
    test_rows: int | None = None
    metrics: MetricPair | None = None  # metric -> value, per model
    bootstrap: BootstrapDoc | None = None
    regression_rule: Literal["point", "significant"] | None = None  # gate.regression_rule
    intervals: dict[str, IntervalDoc] = {}  # per metric, on the whole test split
    segments: Segments | None = None  # the same per value of evaluate.segment_column
    params_changed: list[dict[str, Any]] = []
    data: dict[str, Any] | None = None  # rows added / removed, schema changes
    drift: Drift | None = None
    curves: Curves | None = None  # binary only
    confusion: Pair | None = None  # binary only: [[TN, FP], [FN, TP]] per model
    importance: list[dict[str, Any]] = []  # the candidate's top features
    images: dict[str, str] = {}
    links: dict[str, str] = {}
    record: dict[str, Any] | None = None  # what the merge is checked against (ci.reproduction)
    no_baseline: str | None = None  # why there is no comparison (report.uncompared)
    # --- a report of data that failed validation ---
    validation_failed: bool = False
    failed_expectations: list[str] = []  # in plain words
    commit: str | None = None
    data_version: dict[str, Any] | None = None
    model_type: str | None = None

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_unset=True) + "\n"

    @classmethod
    def read(cls, path: Path) -> ReportJson:
        """A report.json written by ``mlops report``; a clear error naming what is wrong."""
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the document"
            raise ArtifactError(
                f"{path}: not a report written by `mlops report` ({where}: {first['msg']})"
            ) from None
