"""``report.json``: everything a report says, as one typed document.

``mlops report`` computes a :class:`ReportJson` once; the markdown is rendered from it
(``sections``), it is written as ``report.json``, and ``mlops gate`` reads it back through the
same model, so a new fact of the report is added here, filled in ``build`` and shown in one
section, never written twice. A report of data that failed validation has no comparison: only
``verdict``, ``failures``, ``validation`` and the fields after ``validation_failed`` are set.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from mlops.core.documents import Document, JsonFile
from mlops.report.gate import RuleResult


class ModelSide(Document):
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


class Pair(Document):
    """The same measure of both models."""

    baseline: Any
    candidate: Any


class MetricPair(Document):
    baseline: dict[str, float]
    candidate: dict[str, float]


class Curves(Document):
    """ROC and precision-recall of both models at the same x values (the Mermaid charts)."""

    grid: list[float]
    roc: Pair
    precision_recall: Pair


class Validation(Document):
    """The validate stage's verdict on the data (its report, summed up)."""

    success: bool
    evaluated: int | None = None
    failed: int | None = None
    suite: str | None = None
    data: str | None = None
    rows: int | None = None


class Drift(Document):
    features: int  # how many features were compared
    drifted_columns: list[str]
    target: dict[str, Any]
    top: list[dict[str, Any]]  # the most shifted features, by PSI


class IntervalDoc(Document):
    """A metric's difference (this PR minus the baseline) and its confidence interval."""

    delta: float
    low: float
    high: float
    verdict: str  # better | worse | no detectable difference


class BootstrapDoc(Document):
    """How the intervals were computed (report.bootstrap in params.yaml)."""

    resamples: int
    confidence: float
    seed: int
    stratified_by: str = "label"
    paired: bool = True


class SegmentDoc(Document):
    value: str
    rows: int
    target: dict[str, Any]  # the task's summary of the segment's target (Task.summarise_target)
    intervals: dict[str, IntervalDoc]


class Segments(Document):
    column: str  # evaluate.segment_column
    rows: list[SegmentDoc]


class ReportJson(JsonFile):
    verdict: Literal["passed", "failed"]
    failures: list[str]
    task: str = "binary"  # data.task (mlops.tasks): what the metrics and the plots are
    validation: Validation | None = None
    # --- the comparison (absent when the data failed validation) ---
    gate: list[RuleResult] = Field(default_factory=list)
    candidate: ModelSide | None = None
    baseline: BaselineSide | None = None
    test_rows: int | None = None
    metrics: MetricPair | None = None  # metric -> value, per model
    bootstrap: BootstrapDoc | None = None
    regression_rule: Literal["point", "significant"] | None = None  # gate.regression_rule
    # per metric, on the whole test split
    intervals: dict[str, IntervalDoc] = Field(default_factory=dict)
    segments: Segments | None = None  # the same per value of evaluate.segment_column
    params_changed: list[dict[str, Any]] = Field(default_factory=list)
    data: dict[str, Any] | None = None  # rows added / removed, schema changes
    drift: Drift | None = None
    curves: Curves | None = None  # binary only
    confusion: Pair | None = None  # binary only: [[TN, FP], [FN, TP]] per model
    importance: list[dict[str, Any]] = Field(default_factory=list)  # the candidate's top features
    images: dict[str, str] = Field(default_factory=dict)
    links: dict[str, str] = Field(default_factory=dict)
    record: dict[str, Any] | None = None  # what the merge is checked against (ci.reproduction)
    no_baseline: str | None = None  # why there is no comparison (report.uncompared)
    # --- a report of data that failed validation ---
    validation_failed: bool = False
    failed_expectations: list[str] = Field(default_factory=list)  # in plain words
    commit: str | None = None
    data_version: dict[str, Any] | None = None
    model_type: str | None = None

    kind: ClassVar[str] = "report"
    written_by: ClassVar[str] = "mlops report"

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_unset=True) + "\n"
