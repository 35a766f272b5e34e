"""Batch scoring on Apache Spark: the same job, for tables one machine cannot hold.

* The session: ``--master`` (``local[*]`` by default, or a cluster URL such as
  ``spark://host:7077`` or ``yarn``); everything else Spark reads from its own environment
  (``SPARK_HOME``, ``SPARK_CONF_DIR``, ``spark-defaults.conf``, ``PYSPARK_PYTHON``...).
* The input: a CSV (every column read as text, as ``mlops validate`` does) or parquet, typed
  the way :func:`mlops.stages.validate.typed_frame` types a pandas frame: text trimmed, blank
  cells missing, a numeric column made numbers only when every value parses.
* Validation: the scoring suite through Great Expectations' Spark datasource, on the whole
  DataFrame, before anything is scored.
* Scoring: ``mlflow.pyfunc.spark_udf`` over the model's MLflow pyfunc (the registered version
  as downloaded, or, for a ``.joblib`` file, the same pyfunc saved around it), which ships the
  model to the executors. The executors import ``mlops`` (the pyfunc unpickles
  ``mlops.threshold``), so on a cluster the package must be installed there too.
* Output: a directory of parquet files, written to the partial path and counted before
  ``predict`` renames it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.batch.output import BINS, LABEL, MODEL_MD5, MODEL_VERSION, Tally
from mlops.core.errors import DataError, MlopsError, first_line

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from mlops.batch.model import ScoringModel
    from mlops.core.config import Params
    from mlops.stages.suite import Suite
    from mlops.stages.validate import Validator

JAVA_PACKAGE = "openjdk-17-jre-headless"


def check_java() -> None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return
    if shutil.which("java") is None:
        raise MlopsError(
            "--engine spark needs Java 17 (Debian/Ubuntu: apt-get install "
            f"{JAVA_PACKAGE}); no java on PATH and JAVA_HOME is not set"
        )


def session(master: str) -> SparkSession:
    check_java()
    if master.startswith("local"):  # workers on this machine run this interpreter (the venv)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise MlopsError(
            "--engine spark needs pyspark: install the spark extra (`make setup` does, or "
            "`uv sync --extra spark`)"
        ) from None
    return (
        SparkSession.builder.master(master)
        .appName("mlops-predict")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def read(spark: SparkSession, source: Path) -> DataFrame:
    from mlops.batch.inputs import input_format

    if input_format(source) == "csv":
        return (
            spark.read.option("header", True)
            .option("inferSchema", False)
            .option("mode", "FAILFAST")
            .option("encoding", "UTF-8")
            .csv(str(source))
        )
    return spark.read.parquet(str(source))


def typed(frame: DataFrame, suite: Suite) -> DataFrame:
    """Text trimmed and blank cells missing; a numeric column numbers when all of it parses."""
    from pyspark.sql import functions as sf
    from pyspark.sql.types import StringType

    text = [f.name for f in frame.schema.fields if isinstance(f.dataType, StringType)]
    for name in text:
        trimmed = sf.trim(sf.col(name))
        frame = frame.withColumn(name, sf.when(trimmed == "", None).otherwise(trimmed))
    numeric = [c for c in suite.numeric_columns if c in text]
    if not numeric:
        return frame

    def not_a_number(c: str) -> Any:
        return sf.col(c).isNotNull() & sf.col(c).try_cast("double").isNull()

    bad = frame.agg(*[sf.sum(not_a_number(c).cast("long")).alias(c) for c in numeric]).first()
    for name in numeric:
        if not bad or not bad[name]:
            frame = frame.withColumn(name, sf.col(name).try_cast("double"))
    return frame


class SparkFacts:
    """:class:`mlops.stages.validate.FrameFacts` for a Spark DataFrame."""

    def __init__(self, frame: DataFrame) -> None:
        self.frame = frame
        self.columns = list(frame.columns)

    def non_numeric(self, column: str, limit: int) -> tuple[int, list[Any]]:
        from pyspark.sql import functions as sf

        values = sf.col(column)
        bad = self.frame.where(values.isNotNull() & values.try_cast("double").isNull())
        samples = [r[0] for r in bad.select(column).distinct().limit(limit).collect()]
        return bad.count(), samples

    def is_numeric(self, column: str) -> bool:
        from pyspark.sql.types import NumericType

        return isinstance(self.frame.schema[column].dataType, NumericType)

    def distinct(self, column: str) -> list[Any]:
        rows = self.frame.select(column).where(self.frame[column].isNotNull()).distinct()
        return sorted(r[0] for r in rows.collect())

    def null_fraction(self, column: str) -> float:
        from pyspark.sql import functions as sf

        row = self.frame.agg(sf.avg(sf.col(column).isNull().cast("double"))).first()
        return float(row[0] or 0.0) if row else 0.0


def pyfunc_dir(model: ScoringModel, workdir: Path) -> Path:
    """The MLflow pyfunc that spark_udf loads: the registered model's own directory (holding
    the ``MLmodel`` file), or one saved around an unregistered ``.joblib`` file."""
    for parent in model.path.parents:
        if (parent / "MLmodel").exists():
            return parent
    import mlflow.pyfunc

    from mlops.tracking import pyfunc

    target = workdir / "pyfunc"
    mlflow.pyfunc.save_model(
        path=str(target),
        python_model=Path(pyfunc.__file__),
        artifacts={pyfunc.ARTIFACT_KEY: str(model.path)},
        pip_requirements=[],  # used here only, by this environment: nothing to infer
    )
    return target


def score(
    spark: SparkSession,
    params: Params,
    source: Path,
    model: ScoringModel,
    validator: Validator,
    partial: Path,
) -> tuple[int, Tally]:
    """Validate and score ``source`` on Spark into the parquet directory ``partial``.

    ``spark`` comes from :func:`session`, made before the Spark ``validator``: Great
    Expectations' Spark datasource would otherwise start a session of its own, whose workers
    run whatever ``python3`` is on PATH.
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        frame = typed(read(spark, source), validator.suite)
        input_rows = frame.count()
    except (PySparkException, Py4JJavaError) as exc:
        raise DataError(f"--input: {source}: not readable: {first_line(exc)}") from None
    if input_rows == 0:
        raise DataError(f"--input: {source}: no data rows (columns: {', '.join(frame.columns)})")
    report = validator.validate_typed(frame, SparkFacts(frame), rows=input_rows)
    if not report.success:
        report.raise_failures(f"--input: {source}:")
    fitted = model.load()
    _write_scores(spark, params, frame, model, fitted.output_fields(), partial)
    return input_rows, _tally(spark, partial, Tally.of(fitted))


def result_type(fields: dict[str, dict[str, Any]]) -> str:
    """The Spark DDL of the pyfunc's output columns (``Task.output_fields``)."""
    kinds = {"number": "double", "string": "string"}
    return ", ".join(f"`{name}` {kinds[schema['type']]}" for name, schema in fields.items())


def _write_scores(
    spark: SparkSession,
    params: Params,
    frame: DataFrame,
    model: ScoringModel,
    fields: dict[str, dict[str, Any]],
    partial: Path,
) -> None:
    import mlflow.pyfunc
    from pyspark.sql import functions as sf

    features = params.features
    by_name = {c: sf.col(c).cast("double").alias(c) for c in features.numeric}
    by_name.update({c: sf.col(c).cast("string").alias(c) for c in features.categorical})
    with tempfile.TemporaryDirectory() as tmp:
        udf = mlflow.pyfunc.spark_udf(
            spark,
            model_uri=str(pyfunc_dir(model, Path(tmp))),
            result_type=result_type(fields),
            env_manager="local",
        )
        id_column = str(params.data.id_column)
        scored = frame.select(
            sf.col(id_column).cast("string").alias(id_column),
            udf(sf.struct(*[by_name[c] for c in features.used])).alias("scores"),
        )
        scored.select(
            id_column,
            *[sf.col("scores").getField(name).alias(name) for name in fields],
            sf.lit(model.version).alias(MODEL_VERSION),
            sf.lit(model.md5).alias(MODEL_MD5),
        ).write.mode("error").parquet(str(partial))


def _tally(spark: SparkSession, partial: Path, tally: Tally) -> Tally:
    """The summary's figures, computed by Spark over the written scores, binned as
    :func:`mlops.batch.output.bin_index` bins them."""
    from pyspark.sql import functions as sf

    scores = spark.read.parquet(str(partial))
    keys, sums = [], []
    if tally.value is not None:
        scaled = (sf.col(tally.value) - tally.low) / (tally.high - tally.low) * BINS
        bins = sf.least(sf.greatest(sf.floor(scaled), sf.lit(0)), sf.lit(BINS - 1))
        keys.append(bins.cast("long").alias("bin"))
        sums.append(sf.sum(tally.value).alias("total"))
    if LABEL in scores.columns:
        keys.append(sf.col(LABEL))
    for row in scores.groupBy(*keys).agg(sf.count("*").alias("rows"), *sums).collect():
        rows = int(row["rows"])
        tally.rows += rows
        if LABEL in scores.columns:
            label = str(row[LABEL])
            tally.label_counts[label] = tally.label_counts.get(label, 0) + rows
        if tally.value is not None:
            tally.value_sum += float(row["total"])
            tally.histogram[int(row["bin"])] += rows
    return tally
