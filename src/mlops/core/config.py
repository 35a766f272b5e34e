"""Typed configuration: the only way any stage reads ``params.yaml``.

``load_params`` parses the YAML file and validates it against the models below. Any problem
(missing file, invalid YAML, unknown key, wrong type, out-of-range value, inconsistent
feature lists) raises :class:`ConfigError` whose message is one line naming the dotted key
path, what was found and what is allowed. The CLI turns it into exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from mlops.core.artifacts import DATA_DVC, PARAMS
from mlops.core.errors import ConfigError

__all__ = ["ConfigError", "Params", "flatten", "load_params", "parse_params"]
from mlops.models import MODEL_FAMILIES
from mlops.models.space import Dimension
from mlops.tasks import HIGHER_IS_BETTER, TASKS

# Every task's metric names (a gate rule must name one of its own task's: _check_task), and the
# tasks: pydantic checks the values; for the type checker they are strings.
if TYPE_CHECKING:
    MetricName = str
    TaskName = str
else:
    MetricName = Literal[tuple(HIGHER_IS_BETTER)]
    TaskName = Literal[tuple(TASKS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    path: Path = Field(description=f"CSV with the raw data (tracked by {DATA_DVC}).")
    target: str = Field(min_length=1)
    # binary (two labels), multiclass (the classes as they appear), regression (a number)
    task: TaskName = "binary"
    positive_label: str | None = Field(default=None, min_length=1)  # binary only: required
    id_column: str | None = None
    test_size: float = Field(gt=0.0, lt=1.0)
    seed: int = Field(ge=0)


class FeaturesConfig(_Strict):
    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)

    @property
    def used(self) -> list[str]:
        return [*self.numeric, *self.categorical]


class ThresholdConfig(_Strict):
    """How the decision threshold is chosen on the validation split (saved with the model)."""

    method: Literal["f1", "recall"] = "f1"
    target_recall: float = Field(default=0.8, gt=0.0, le=1.0)


class TrainConfig(_Strict):
    device: Literal["auto", "cpu", "cuda"] = "auto"
    seed: int = Field(default=42, ge=0)
    # Carved (stratified, seeded) from the training split: early stopping, learning curves and
    # the threshold. The model is fitted on the rest.
    validation_size: float = Field(default=0.2, ge=0.05, le=0.5)
    threshold: ThresholdConfig = Field(default_factory=ThresholdConfig)


class EvaluateConfig(_Strict):
    segment_column: str | None = None  # a features.categorical column: metrics per value
    importance_repeats: int = Field(default=5, ge=1, le=100)  # permutation importance
    # permutation importance on at most this many test rows (a seeded sample); null: all rows
    importance_max_rows: int | None = Field(default=10_000, ge=100)
    calibration_bins: int = Field(default=10, ge=2, le=100)
    seed: int = Field(default=42, ge=0)


class OnlineGateConfig(_Strict):
    """The rules ``mlops promote --evidence`` applies to ``mlops online-report``'s comparison of
    the challenger and the champion on the same live traffic (outcomes joined later)."""

    required: bool = False  # true: `mlops promote` refuses to promote without the evidence
    min_labelled: int = Field(default=200, ge=1)  # fewer labelled rows are too few to judge
    # The largest allowed change for the worse (challenger vs champion) per metric, judged on
    # the paired interval as regression_rule says (significant: the whole interval beyond it).
    max_regression: dict[MetricName, float] = Field(default_factory=dict)
    regression_rule: Literal["point", "significant"] = "significant"


class GateConfig(_Strict):
    minimums: dict[MetricName, float] = Field(default_factory=dict)
    max_regression: dict[MetricName, float] = Field(default_factory=dict)
    # point: a max_regression rule compares the point estimates (the default); significant: it
    # fails only when the whole confidence interval of the drop (report.bootstrap) lies beyond
    # the allowed drop, so noise alone cannot fail it.
    regression_rule: Literal["point", "significant"] = "point"
    online: OnlineGateConfig = Field(default_factory=OnlineGateConfig)


class MlflowConfig(_Strict):
    tracking_uri: str = Field(default="sqlite:///mlflow.db", min_length=1)
    experiment: str = Field(default="mlops", min_length=1)
    # Also the name of the BentoML models, bento and service (mlops.serving.names): BentoML's
    # rule for names, lower case, and short enough (52) that "<name>-challenger" fits its 63.
    registered_model: str = Field(
        default="model", pattern=r"^[a-z0-9]([a-z0-9._-]{0,50}[a-z0-9])?$"
    )


class ValidationConfig(_Strict):
    suite: Path = Field(
        default=Path("expectations/suite.yaml"),
        description="Expectation suite of the raw data (mlops validate --init writes one).",
    )
    sample_values: int = Field(default=5, ge=1, le=100)


class DriftConfig(_Strict):
    bins: int = Field(default=10, ge=2, le=100)
    psi_threshold: float = Field(default=0.2, gt=0.0)
    ks_pvalue: float = Field(default=0.01, gt=0.0, lt=1.0)
    chi2_pvalue: float = Field(default=0.01, gt=0.0, lt=1.0)
    target_rate_delta: float = Field(default=0.05, gt=0.0, lt=1.0)
    fail_on_drift: bool = False


class MonitorConfig(_Strict):
    """``mlops monitor``: production data against what the champion was trained on."""

    # The family-wise false-alarm rate of the drift tests: every feature's test, the
    # prediction's and the target's, corrected together (Holm). A column drifts when its shift
    # is both material (PSI at least drift.psi_threshold; for a class share, at least
    # drift.target_rate_delta) and not chance (Holm-adjusted p-value below this).
    alpha: float = Field(default=0.01, gt=0.0, lt=0.5)
    # Fewer current rows than this are too few to judge: mlops monitor refuses them.
    min_rows: int = Field(default=200, ge=10)
    # Degraded: the headline metric is worse than on the champion's test split by at least
    # this share of its test-split value (0.05: 5%, e.g. ROC-AUC 0.84 -> below 0.80, RMSE 6.0
    # -> above 6.3), and the bootstrap interval of the difference says it is no chance.
    min_drop: float = Field(default=0.05, ge=0.0, lt=1.0)
    # Labelled production data proposed as training data (mlops data-pr): appended to
    # data.path's rows (a row whose id is there already replaces it), or replacing them.
    data_mode: Literal["append", "replace"] = "append"


class TuneConfig(_Strict):
    """``mlops tune``: a seeded Optuna search of one model family's hyper-parameters."""

    trials: int = Field(default=30, ge=1, le=10_000)  # at most this many trials ...
    timeout_minutes: float = Field(default=30.0, gt=0.0, le=24 * 60)  # ... and this long
    # K-fold cross-validation on the training split (stratified for a classifier); the test
    # split stays untouched for the PR report.
    cv_folds: int = Field(default=5, ge=2, le=20)
    metric: MetricName | None = None  # one of the task's metrics; null: its headline metric
    seed: int = Field(default=0, ge=0)  # the TPE sampler's seed (and the folds')
    # Better: the paired difference's interval (over the folds) excludes no gain, and the mean
    # gain is at least this share of the current params' score (0.001: 0.1%).
    min_gain: float = Field(default=0.001, ge=0.0, lt=1.0)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    # family -> hyper-parameter -> range or choices; a family named here replaces its default
    # space (src/mlops/models/<family>.py, SPACE) with this one.
    space: dict[str, dict[str, Dimension]] = Field(default_factory=dict)


class BootstrapConfig(_Strict):
    """The paired bootstrap of the PR report's metric differences."""

    resamples: int = Field(default=1000, ge=100, le=100_000)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    seed: int = Field(default=0, ge=0)


class ReportConfig(_Strict):
    # false: the PR report links no images (tables and Mermaid charts remain), for teams that
    # may not upload images to a third-party host (CML publishes them to asset.cml.dev).
    publish_images: bool = True
    drift_features: int = Field(default=8, ge=1, le=100)  # rows of the drift table (top PSI)
    mermaid_points: int = Field(default=21, ge=3, le=101)  # points per curve in Mermaid charts
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)


def _model_config_class() -> type[BaseModel]:
    """``model:`` has a ``type`` plus one hyper-parameter section per registered family."""
    family_names = tuple(MODEL_FAMILIES)
    fields: dict[str, Any] = {
        "type": (Literal[family_names], ...),
    }
    for name, family in MODEL_FAMILIES.items():
        fields[name] = (family.Params, Field(default_factory=family.Params))
    return create_model("ModelConfig", __base__=_Strict, **fields)


ModelConfig = _model_config_class()


class Params(_Strict):
    data: DataConfig
    features: FeaturesConfig
    model: ModelConfig  # type: ignore[valid-type]
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    tune: TuneConfig = Field(default_factory=TuneConfig)

    @property
    def model_type(self) -> str:
        return str(self.model.type)  # type: ignore[attr-defined]

    @property
    def model_params(self) -> BaseModel:
        return getattr(self.model, self.model_type)


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The field names accepted at the mapping that contains ``loc`` (through the values of a
    ``dict[str, ...]`` field, e.g. tune.space.<family>.<key>)."""
    import typing

    cls: Any = Params
    for part in loc[:-1]:
        if typing.get_origin(cls) is dict:  # part is one of its keys
            cls = typing.get_args(cls)[1]
            continue
        fields = getattr(cls, "model_fields", None)
        if fields is None or part not in fields:
            return []
        cls = fields[part].annotation
    fields = getattr(cls, "model_fields", None)
    return list(fields) if fields else []


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _format_error(path: Path, error: Any, total: int) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(loc)) or "none"
        msg = f"unknown key (found {_describe(error['input'])}); allowed keys: {allowed}"
    elif kind == "missing":
        msg = "required key is missing"
    else:
        msg = f"{error['msg'].rstrip('.')}; found {_describe(error['input'])}"
    more = f" (and {total - 1} more problem(s))" if total > 1 else ""
    return f"{path}: {key}: {msg}{more}"


def _check_consistency(params: Params, path: Path) -> None:
    """Cross-field rules pydantic cannot express per field."""
    seen: dict[str, str] = {}
    for section in ("numeric", "categorical", "dropped"):
        for column in getattr(params.features, section):
            if column in seen:
                raise ConfigError(
                    f"{path}: features.{section}: column {column!r} is already listed in "
                    f"features.{seen[column]}; a column belongs to exactly one list"
                )
            seen[column] = section
    for key, column in (
        ("data.target", params.data.target),
        ("data.id_column", params.data.id_column),
    ):
        if column is not None and column in seen:
            raise ConfigError(
                f"{path}: features.{seen[column]}: contains {column!r}, which is {key}; "
                "the target and the id column cannot be features"
            )
    _check_task(params, path)
    segment = params.evaluate.segment_column
    if segment is not None and segment not in params.features.categorical:
        raise ConfigError(
            f"{path}: evaluate.segment_column: {segment!r} is not in features.categorical; "
            f"allowed: {', '.join(params.features.categorical) or 'none'} (or null)"
        )
    if not params.features.used:
        raise ConfigError(
            f"{path}: features: no feature columns (found empty numeric and categorical lists); "
            "list at least one column"
        )


def _check_task(params: Params, path: Path) -> None:
    """The keys that must agree with ``data.task`` (mlops.tasks)."""
    task = TASKS[params.data.task]
    if task.name == "binary" and params.data.positive_label is None:
        raise ConfigError(
            f"{path}: data.positive_label: required key is missing (data.task is binary: the "
            "label value that counts as the positive class)"
        )
    if task.name != "binary" and params.data.positive_label is not None:
        raise ConfigError(
            f"{path}: data.positive_label: belongs to data.task binary only; found "
            f"{params.data.positive_label!r} with data.task {task.name}"
        )
    if task.name != "binary" and "threshold" in params.train.model_fields_set:
        raise ConfigError(
            f"{path}: train.threshold: a decision threshold belongs to data.task binary only; "
            f"remove it for data.task {task.name}"
        )
    for rules, named in (
        ("minimums", params.gate.minimums),
        ("max_regression", params.gate.max_regression),
        ("online.max_regression", params.gate.online.max_regression),
    ):
        for rule in named:
            if rule not in task.metrics:
                raise ConfigError(
                    f"{path}: gate.{rules}.{rule}: not a metric of data.task {task.name}; "
                    f"allowed: {', '.join(task.metrics)}"
                )
    metric = params.tune.metric
    if metric is not None and metric not in task.metrics:
        raise ConfigError(
            f"{path}: tune.metric: {metric} is not a metric of data.task {task.name}; "
            f"allowed: {', '.join(task.metrics)} (or null: {task.headline})"
        )
    _check_space(params, path)
    family = MODEL_FAMILIES[params.model_type]
    if task.name not in family.tasks:
        able = [name for name, f in MODEL_FAMILIES.items() if task.name in f.tasks]
        raise ConfigError(
            f"{path}: model.type: {params.model_type} does not support data.task {task.name} "
            f"(it supports {', '.join(family.tasks)}); families for {task.name}: "
            f"{', '.join(able) or 'none yet in this version of the template'}"
        )
    chosen = params.model_params
    for key, tasks in family.task_params.items():
        default = type(chosen).model_fields[key].default
        if task.name not in tasks and getattr(chosen, key) != default:
            raise ConfigError(
                f"{path}: model.{params.model_type}.{key}: applies to data.task "
                f"{' or '.join(tasks)} only; leave it at {default!r} for data.task {task.name}"
            )


def _check_space(params: Params, path: Path) -> None:
    """Every tune.space entry names a hyper-parameter of its family that applies to the task,
    and its ends (or each choice) are values params.yaml would accept there."""
    task = params.data.task
    for name, space in params.tune.space.items():
        family = MODEL_FAMILIES.get(name)
        if family is None:
            raise ConfigError(
                f"{path}: tune.space.{name}: not a model family; allowed: "
                f"{', '.join(MODEL_FAMILIES)}"
            )
        fields = family.Params.model_fields
        for key, dimension in space.items():
            where = f"{path}: tune.space.{name}.{key}"
            if key not in fields:
                raise ConfigError(f"{where}: not a hyper-parameter of {name}; allowed: "
                                  f"{', '.join(fields)}")  # fmt: skip
            if not family.applies(key, task):
                raise ConfigError(f"{where}: applies to data.task "
                                  f"{' or '.join(family.task_params[key])} only")  # fmt: skip
            for value in dimension.bounds():
                try:
                    family.Params.model_validate({key: value})
                except ValidationError as exc:
                    problem = exc.errors()[0]["msg"].rstrip(".")
                    raise ConfigError(f"{where}: {value!r} is not a valid {key}: {problem}"
                                      ) from None  # fmt: skip


def parse_params(raw: Any, path: Path = PARAMS) -> Params:
    """Validate an already-parsed YAML document."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: (top level): expected a mapping of sections, found {_describe(raw)}"
        )
    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        raise ConfigError(_format_error(path, errors[0], len(errors))) from None
    _check_consistency(params, path)
    return params


def load_params(path: Path | str = PARAMS) -> Params:
    """Read and validate ``params.yaml``; raise :class:`ConfigError` on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (run from the repository root)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    return parse_params(raw, path)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A params document's leaves by dotted key: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists
    are leaves, compared and logged whole)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}
