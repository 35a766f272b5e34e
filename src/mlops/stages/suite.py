"""The expectation suite file: what the raw data must look like, in a form a team edits.

The suite lives in the repository as YAML (``validation.suite`` in params.yaml, by default
``expectations/suite.yaml``; ``mlops init`` names it after the project). It says, per column,
what kind of column it is and what its values may be; :mod:`mlops.stages.validate` turns it
into Great Expectations expectations. The file is validated like params.yaml: an unknown key, a
wrong type or an inconsistent rule raises :class:`ConfigError` naming the dotted key.
``profile`` writes a starting suite from a reference data file (``mlops validate --init``).

Column kinds:

* ``id``: unique, never null.
* ``target``: never null. A classifier's: its values are exactly ``values`` (every label
  occurs). A regression target's: numbers only, within ``min``/``max`` (no ``values``).
* ``numeric``: every value a number (text such as ``"12 months"`` fails), within
  ``min``/``max`` (either may be null), at most ``max_null_fraction`` missing.
* ``categorical``: values from ``values``, at most ``max_null_fraction`` missing.
* ``text``: free text, only the null limit is checked.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlops.core.errors import ConfigError, DataError

ColumnKind = Literal["id", "target", "numeric", "categorical", "text"]
MAX_CATEGORIES = 50  # --init: a text column with more distinct values is "text", not categorical


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RowsSpec(_Strict):
    min: int = Field(default=1, ge=1)
    max: int | None = Field(default=None, ge=1)


class ColumnSpec(_Strict):
    kind: ColumnKind
    values: list[str] | None = None
    min: float | None = None
    max: float | None = None
    max_null_fraction: float = Field(default=0.0, ge=0.0, le=1.0)

    @property
    def numeric(self) -> bool:
        """Numbers only: a numeric column, or a target without labels (regression)."""
        return self.kind == "numeric" or (self.kind == "target" and self.values is None)


class Suite(_Strict):
    name: str = Field(min_length=1)
    rows: RowsSpec = Field(default_factory=RowsSpec)
    columns: dict[str, ColumnSpec] = Field(min_length=1)

    @property
    def target(self) -> str | None:
        return next((c for c, s in self.columns.items() if s.kind == "target"), None)

    def of_kind(self, kind: ColumnKind) -> list[str]:
        return [c for c, s in self.columns.items() if s.kind == kind]

    @property
    def numeric_columns(self) -> list[str]:
        return [c for c, s in self.columns.items() if s.numeric]


def _check(suite: Suite, path: Path) -> None:
    rows = suite.rows
    if rows.max is not None and rows.max < rows.min:
        raise ConfigError(f"{path}: rows.max: {rows.max} is below rows.min ({rows.min})")
    targets = suite.of_kind("target")
    if len(targets) > 1:
        raise ConfigError(f"{path}: columns: more than one target column: {targets}")
    for name, spec in suite.columns.items():
        key = f"{path}: columns.{name}"
        if spec.kind == "categorical" or (spec.kind == "target" and spec.values is not None):
            if not spec.values:
                raise ConfigError(f"{key}.values: a {spec.kind} column needs its allowed values")
            if spec.kind == "target" and len(set(spec.values)) < 2:
                raise ConfigError(f"{key}.values: a target needs at least 2 labels")
            if spec.kind == "target" and (spec.min is not None or spec.max is not None):
                raise ConfigError(
                    f"{key}: a target has either values (a classifier's labels) or min/max "
                    "(a regression target's range), not both"
                )
        elif spec.values is not None:
            raise ConfigError(f"{key}.values: only categorical and target columns have values")
        if not spec.numeric and (spec.min is not None or spec.max is not None):
            raise ConfigError(f"{key}: min/max apply to numeric columns only (kind {spec.kind})")
        if spec.min is not None and spec.max is not None and spec.max < spec.min:
            raise ConfigError(f"{key}.max: {spec.max} is below min ({spec.min})")
        if spec.kind in ("id", "target") and spec.max_null_fraction:
            raise ConfigError(f"{key}.max_null_fraction: an {spec.kind} column cannot be null")


def parse_suite(raw: Any, path: Path) -> Suite:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: (top level): expected a mapping with name, rows, columns")
    try:
        suite = Suite.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        err = errors[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = f"{err['msg'].rstrip('.')}; found {err['input']!r}"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(f"{path}: {key}: {msg}{more}") from None
    _check(suite, path)
    return suite


def load_suite(path: Path | str) -> Suite:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"validation.suite: {path} does not exist; write one with `mlops validate --init`"
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: cannot be read as YAML: {first}") from None
    return parse_suite(raw, path)


# --- profiling: a starting suite from a reference file -------------------------------------


def _nice(value: float) -> float | int:
    """Round a bound to something a person would write (integers stay integers)."""
    if float(value).is_integer():
        return int(value)
    return round(float(value), 2)


def _numeric_bounds(values: Any) -> tuple[float | int, float | int]:
    lo, hi = float(values.min()), float(values.max())
    if set(values.dropna().unique()) <= {0.0, 1.0}:
        return 0, 1  # a 0/1 flag
    span = hi - lo
    low = 0 if lo >= 0 else math.floor(lo - span / 2)
    high = math.ceil(hi + span / 2)
    return _nice(low), _nice(high)


def _null_limit(fraction: float) -> float:
    """Allowed missing fraction: none when none were seen, else twice the seen rate (rounded up)."""
    if fraction == 0:
        return 0.0
    return min(1.0, math.ceil(fraction * 2 * 100) / 100)


def profile(
    raw: Any,
    name: str,
    target: str | None = None,
    id_column: str | None = None,
    *,
    numeric_target: bool = False,
) -> dict[str, Any]:
    """A starting suite (as a YAML-ready mapping) from a reference frame read as text; the
    target's rule is its labels, or with ``numeric_target`` (regression) a range of numbers."""
    import pandas as pd

    n = len(raw)
    if n == 0:
        raise DataError("cannot profile a file without data rows")
    if target is not None and target not in raw.columns:
        raise DataError(
            f"data.target: column {target!r} is not in the reference file; "
            f"its columns are {list(raw.columns)}"
        )
    columns: dict[str, dict[str, Any]] = {}
    for column in raw.columns:
        text = raw[column].str.strip()
        text = text.mask(text == "")
        nulls = float(text.isna().mean())
        non_null = text.dropna()
        numbers = pd.to_numeric(non_null, errors="coerce")
        spec: dict[str, Any]
        if column == target and numeric_target:
            if numbers.isna().any() or not len(non_null):
                raise DataError(
                    f"data.target: column {target!r} must be numeric for data.task regression"
                )
            low, high = _numeric_bounds(numbers)
            spec = {"kind": "target", "min": low, "max": high}
        elif column == target:
            spec = {"kind": "target", "values": sorted(non_null.unique().tolist())}
        elif column == id_column or (
            id_column is None and nulls == 0 and non_null.is_unique and numbers.isna().all()
        ):
            spec = {"kind": "id"}
        elif len(non_null) and numbers.notna().all():
            low, high = _numeric_bounds(numbers)
            spec = {"kind": "numeric", "min": low, "max": high}
        elif non_null.nunique() <= MAX_CATEGORIES:
            spec = {"kind": "categorical", "values": sorted(non_null.unique().tolist())}
        else:
            spec = {"kind": "text"}
        if spec["kind"] not in ("id", "target"):
            spec["max_null_fraction"] = _null_limit(nulls)
        columns[str(column)] = spec
    doc = {"name": name, "rows": {"min": max(1, math.ceil(n / 2)), "max": n * 10}}
    doc["columns"] = columns
    parse_suite(doc, Path(name))  # what we write must load back
    return doc


HEADER = """\
# Expectation suite: what the raw data must look like before anything is trained on it.
# `mlops validate` checks the data against it with Great Expectations
# (src/mlops/stages/validate.py).
# Written by `mlops validate --init` from {source}; edit it for your data.
#
#   rows:     min/max number of data rows (max: null for no limit)
#   columns:  every column of the file (any order; a missing or an extra column fails), with
#     kind: id           unique, never null
#     kind: target       never null; the labels are exactly `values` (each must occur), or,
#                        for a regression target, numbers within min..max
#     kind: numeric      numbers only (text fails), within min..max (null: unbounded)
#     kind: categorical  one of `values`
#     kind: text         free text (only the null limit is checked)
#     max_null_fraction  largest allowed fraction of missing (blank) values, 0.0 to 1.0
"""


def dump_suite(doc: dict[str, Any], source: str) -> str:
    body = yaml.safe_dump(
        doc, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    return HEADER.format(source=source) + body
