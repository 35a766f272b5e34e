"""The ``validate`` stage: check the raw data against the expectation suite with Great Expectations.

The raw CSV is read by ``core.artifacts.read_raw`` (every column as text; every way a file
can be unreadable is a one-line :class:`DataError`). ``Validator`` builds a Great
Expectations 1.x checkpoint from the suite once and validates any number of frames; ``run``
is the CLI wrapper that writes the validation report and the Data Docs site, prints each
failed expectation in plain words and fails the stage (so ``dvc repro`` runs nothing
downstream).

The same suite checks the input of batch scoring (``mlops predict``), on pandas chunks or on a
Spark DataFrame: ``scoring=True`` drops the target, the row-count range and the id's
uniqueness (a scoring table has no labels, any size, and is validated chunk by chunk), and lets
extra columns through. What the failure sentences need from the data (the columns, the
non-numbers of a column, ...) comes through :class:`FrameFacts`, so one engine's DataFrame
type never leaks into the other's.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import pandas as pd

from mlops.core.artifacts import DATA_DOCS, VALIDATION, read_raw
from mlops.core.errors import DataError
from mlops.stages.outcomes import Outcome, Report, ValidationError, write_report
from mlops.stages.suite import Suite

__all__ = ["Engine", "Outcome", "Report", "ValidationError", "Validator", "init", "run"]

if TYPE_CHECKING:
    from mlops.core.config import Params

Engine = Literal["pandas", "spark"]
# The column types that count as numbers, as each engine's Great Expectations names them.
NUMERIC_TYPES: dict[Engine, list[str]] = {
    "pandas": ["int64", "float64", "Int64", "Float64"],
    "spark": ["DoubleType", "FloatType", "LongType", "IntegerType", "ShortType", "DecimalType"],
}


def import_gx() -> Any:
    """Great Expectations, quietly: no analytics, and no warning from pyspark (the ``spark``
    extra) about pandas versions, which Great Expectations imports when it is installed."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
    import great_expectations as gx

    return gx


# --- reading --------------------------------------------------------------------------------


def typed_frame(raw: pd.DataFrame, suite: Suite) -> pd.DataFrame:
    """The frame Great Expectations sees: text, except numeric columns that parse as numbers.

    A numeric column with any non-number in it stays text, so the type expectation fails and
    reports the offending values instead of the values being silently coerced to missing.
    """
    frame = raw.copy()
    text_columns = [c for c in raw.columns if _is_text(raw[c])]
    for column in text_columns:
        text = raw[column].str.strip()
        frame[column] = text.mask(text == "")
    for column in suite.numeric_columns:
        if column in text_columns:
            values = pd.to_numeric(frame[column], errors="coerce")
            if not (frame[column].notna() & values.isna()).any():
                frame[column] = values
    return frame


def _is_text(column: pd.Series) -> bool:
    """Text as read from a CSV or a parquet string column (parquet numbers stay numbers)."""
    return pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)


# --- the suite as Great Expectations expectations --------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def expectations(suite: Suite, *, engine: Engine = "pandas", scoring: bool = False) -> list[Any]:
    """Great Expectations expectations for the suite; each carries plain-words ``meta``.

    ``scoring``: for data to score rather than to train on (see the module's docstring).
    """
    ex = import_gx().expectations
    out: list[Any] = []

    def add(expectation: Any, column: str | None, kind: str, expected: str) -> None:
        expectation.meta = {"column": column, "kind": kind, "expected": expected}
        out.append(expectation)

    columns = {n: s for n, s in suite.columns.items() if not (scoring and s.kind == "target")}
    names = list(columns)
    add(
        ex.ExpectTableColumnsToMatchSet(column_set=names, exact_match=not scoring),
        None,
        "columns",
        f"the {len(names)} columns of the suite other than its target (any order, others ignored)"
        if scoring
        else f"exactly the {len(names)} columns of the suite (any order)",
    )
    rows_min, rows_max = (1, None) if scoring else (suite.rows.min, suite.rows.max)
    bound = f"between {rows_min} and {rows_max}" if rows_max else f"at least {rows_min}"
    add(
        ex.ExpectTableRowCountToBeBetween(min_value=rows_min, max_value=rows_max),
        None,
        "row_count",
        f"{bound} rows",
    )
    for name, spec in columns.items():
        if spec.kind in ("id", "target") or spec.max_null_fraction < 1:
            limit = spec.max_null_fraction
            add(
                ex.ExpectColumnValuesToNotBeNull(column=name, mostly=1 - limit),
                name,
                "nulls",
                "no missing values" if limit == 0 else f"at most {limit:.1%} missing values",
            )
        if spec.kind == "id" and not scoring:
            add(ex.ExpectColumnValuesToBeUnique(column=name), name, "unique", "unique values")
        elif spec.numeric:
            add(
                ex.ExpectColumnValuesToBeInTypeList(column=name, type_list=NUMERIC_TYPES[engine]),
                name,
                "type",
                "numbers only",
            )
            if spec.min is not None or spec.max is not None:
                lo = "-inf" if spec.min is None else _fmt(spec.min)
                hi = "inf" if spec.max is None else _fmt(spec.max)
                add(
                    ex.ExpectColumnValuesToBeBetween(
                        column=name, min_value=spec.min, max_value=spec.max
                    ),
                    name,
                    "range",
                    f"values between {lo} and {hi}",
                )
        elif spec.kind in ("categorical", "target"):
            values = list(spec.values or [])
            add(
                ex.ExpectColumnValuesToBeInSet(column=name, value_set=values),
                name,
                "labels" if spec.kind == "target" else "categories",
                f"values from {values}",
            )
            if spec.kind == "target":
                add(
                    ex.ExpectColumnDistinctValuesToContainSet(column=name, value_set=values),
                    name,
                    "classes",
                    f"every label of {values} present",
                )
    return out


# --- running ---------------------------------------------------------------------------------


class FrameFacts(Protocol):
    """What the failure sentences need to know about the validated data, per engine."""

    columns: list[str]

    def non_numeric(self, column: str, limit: int) -> tuple[int, list[Any]]:
        """How many non-missing values of a text column are not numbers, and a few of them."""
        ...

    def is_numeric(self, column: str) -> bool: ...

    def distinct(self, column: str) -> list[Any]: ...

    def null_fraction(self, column: str) -> float: ...


class PandasFacts:
    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.columns = [str(c) for c in frame.columns]

    def non_numeric(self, column: str, limit: int) -> tuple[int, list[Any]]:
        values = self.frame[column]
        bad = values[values.notna() & pd.to_numeric(values, errors="coerce").isna()]
        return len(bad), bad.unique()[:limit].tolist()

    def is_numeric(self, column: str) -> bool:
        return pd.api.types.is_numeric_dtype(self.frame[column])

    def distinct(self, column: str) -> list[Any]:
        return sorted(self.frame[column].dropna().unique().tolist())

    def null_fraction(self, column: str) -> float:
        return float(self.frame[column].isna().mean())


class Validator:
    """A Great Expectations checkpoint for one suite, built once, run on any number of frames.

    ``engine`` picks the datasource (pandas, or Spark for ``mlops predict --engine spark``);
    ``scoring`` the expectations for data to score (see :func:`expectations`).
    """

    def __init__(
        self,
        suite: Suite,
        docs_dir: Path | None = None,
        samples: int = 5,
        *,
        engine: Engine = "pandas",
        scoring: bool = False,
    ) -> None:
        gx = import_gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.suite = suite
        self.samples = samples
        self.docs_dir = docs_dir
        self.scoring = scoring
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        actions: list[Any] = []
        if docs_dir is not None:
            context.add_data_docs_site(
                "mlops",
                {
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(docs_dir.resolve()),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
            actions.append(
                gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["mlops"])
            )
        sources = context.data_sources
        source = sources.add_spark("raw") if engine == "spark" else sources.add_pandas("raw")
        batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe(
            "all_rows"
        )
        # Every expectation given at once: the context stores (serializes) the suite once,
        # not once per added expectation.
        gx_suite = context.suites.add(
            gx.ExpectationSuite(
                name=suite.name,
                expectations=expectations(suite, engine=engine, scoring=scoring),
            )
        )
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite.name}-raw", data=batch, suite=gx_suite)
        )
        self.checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{suite.name}-checkpoint",
                validation_definitions=[definition],
                actions=actions,
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": samples},
            )
        )

    def validate(self, raw: pd.DataFrame) -> Report:
        """Validate a frame read as text (``core.artifacts.read_raw``) or from parquet."""
        frame = typed_frame(raw, self.suite)
        return self.validate_typed(frame, PandasFacts(frame), rows=len(frame))

    def validate_typed(self, frame: Any, facts: FrameFacts, rows: int) -> Report:
        """Validate an engine's DataFrame whose numeric columns are typed already."""
        if self.docs_dir is not None:
            shutil.rmtree(self.docs_dir, ignore_errors=True)
        result = self.checkpoint.run(batch_parameters={"dataframe": frame})
        (run_result,) = result.run_results.values()
        outcomes = [self._outcome(r.to_json_dict(), facts) for r in run_result.results]
        order = {kind: i for i, kind in enumerate(["columns", "row_count"])}
        names = list(self.suite.columns)
        outcomes.sort(
            key=lambda o: (
                order.get(o.kind, 2),
                names.index(o.column) if o.column in names else -1,
            )
        )
        return Report(
            success=bool(result.success),
            outcomes=outcomes,
            rows=rows,
            columns=len(facts.columns),
        )

    def _outcome(self, result: dict[str, Any], facts: FrameFacts) -> Outcome:
        config = result["expectation_config"]
        meta = config.get("meta") or {}
        details = result.get("result") or {}
        column = meta.get("column")
        outcome = Outcome(
            column=column,
            kind=meta.get("kind", config["type"]),
            expectation=config["type"],
            expected=meta.get("expected", config["type"]),
            success=bool(result["success"]),
            observed=details.get("observed_value"),
            unexpected_count=details.get("unexpected_count"),
            samples=list(details.get("partial_unexpected_list") or [])[: self.samples],
        )
        if outcome.success:
            return outcome
        name = str(column)  # the column-level kinds below all have one
        if column is not None and column not in facts.columns:
            outcome.note = "not evaluated: the column is missing"
        elif outcome.kind == "type":
            outcome.unexpected_count, outcome.samples = facts.non_numeric(name, self.samples)
        elif outcome.kind == "range" and not facts.is_numeric(name):
            outcome.note = "not evaluated: the column is not numeric"
        elif outcome.kind == "columns":
            expected = [
                c
                for c, spec in self.suite.columns.items()
                if not (self.scoring and spec.kind == "target")
            ]
            missing = [c for c in expected if c not in facts.columns]
            extra = [] if self.scoring else [c for c in facts.columns if c not in expected]
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if extra:
                parts.append(f"unexpected {extra}")
            outcome.observed = {"missing": missing, "unexpected": extra}
            outcome.note = "; ".join(parts) or "a different set of columns"
        elif outcome.kind == "classes":
            outcome.observed = facts.distinct(name)
        elif outcome.kind == "nulls":
            outcome.observed = facts.null_fraction(name)
        if outcome.note is None and details == {} and outcome.kind not in ("type", "classes"):
            outcome.note = "not evaluated: " + _exception(result)
        return outcome


def _exception(result: dict[str, Any]) -> str:
    info = result.get("exception_info") or {}
    messages = [
        v.get("exception_message")
        for v in (info.values() if isinstance(info, dict) else [])
        if isinstance(v, dict) and v.get("exception_message")
    ]
    if isinstance(info, dict) and info.get("exception_message"):
        messages.append(info["exception_message"])
    return str(messages[0]).splitlines()[0] if messages else "Great Expectations raised an error"


# --- CLI wrapper -----------------------------------------------------------------------------


def run(
    params: Params,
    data_path: Path | None = None,
    report_path: Path = VALIDATION,
    docs_dir: Path | None = DATA_DOCS,
) -> Report:
    """Validate the raw data; write the report and Data Docs; raise when anything failed."""
    from mlops.stages.suite import load_suite

    suite_path = params.validation.suite
    path = data_path or params.data.path
    suite = load_suite(suite_path)
    base = {"data": str(path), "suite": str(suite_path)}
    try:
        raw = read_raw(path)
    except DataError as exc:
        if docs_dir is not None:
            shutil.rmtree(docs_dir, ignore_errors=True)
        write_report({"success": False, **base, "error": str(exc), "expectations": []}, report_path)
        raise
    report = Validator(suite, docs_dir=docs_dir, samples=params.validation.sample_values).validate(
        raw
    )
    write_report({**report.to_dict(), **base}, report_path)
    total = len(report.outcomes)
    if report.success:
        print(f"validate: {path}: all {total} expectations met ({report.rows} rows)")
        return report
    failures = report.failures
    print(f"validate: {path}: {len(failures)} of {total} expectations failed:")
    for outcome in failures:
        print(f"  - {outcome.sentence()}")
    first = failures[0].sentence() if failures else "see the report"
    raise ValidationError(
        f"{path} failed validation ({len(failures)} of {total} expectations): {first}"
        f"{' (and more, listed above)' if len(failures) > 1 else ''}; details in {report_path}"
    )


def init(params: Params, reference: Path | None, output: Path | None, force: bool) -> Path:
    """``mlops validate --init``: profile a reference file and write a starting suite."""
    from mlops.stages.suite import dump_suite, profile

    source = reference or params.data.path
    target = output or params.validation.suite
    if target.exists() and not force:
        raise DataError(f"{target} already exists; pass --force to overwrite it")
    raw = read_raw(source)
    doc = profile(
        raw,
        name=target.stem,
        target=params.data.target if params.data.target in raw.columns else None,
        id_column=params.data.id_column if params.data.id_column in raw.columns else None,
        numeric_target=params.data.task == "regression",
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dump_suite(doc, str(source)), encoding="utf-8")
    print(
        f"validate --init: wrote {target} ({len(doc['columns'])} columns, "
        f"{len(raw)} reference rows); review it and commit it"
    )
    return target
