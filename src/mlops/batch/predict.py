"""``mlops predict``: score a table with a model, on pandas (streaming) or on Spark.

Order of work: resolve the model (a registered version is downloaded and checked against its
md5 tag), validate the input with the scoring suite (the expectation suite without its target,
row-count range or id uniqueness), score into a hidden partial output, check that it has as
many rows as the input, rename it into place, and write the summary JSON beside it. Any failure
removes the partial output and leaves an earlier output untouched.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.batch import output as out
from mlops.core.artifacts import write_json
from mlops.core.errors import ConfigError

if TYPE_CHECKING:
    from mlops.core.config import Params
    from mlops.stages.validate import Engine


def run(
    params: Params,
    source: Path,
    target: Path,
    *,
    model_spec: str = "champion",
    engine: Engine = "pandas",
    master: str = "local[*]",
    chunk_rows: int | None = None,
) -> dict[str, Any]:
    """Score ``source`` into ``target``; return the summary (also written beside ``target``)."""
    from mlops.batch import model as models
    from mlops.batch.inputs import input_format
    from mlops.stages.suite import load_suite
    from mlops.stages.validate import Validator

    if not params.data.id_column:
        raise ConfigError(
            "data.id_column: batch scoring needs an id column, to say whose score each row is"
        )
    started = time.monotonic()
    input_format(source)  # a missing or empty input fails before a model or a JVM is loaded
    suite = load_suite(params.validation.suite)
    partial = out.partial_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    out.remove(partial)
    spark = None
    if engine == "spark":
        from mlops.batch import spark_engine

        spark = spark_engine.session(master)
    try:
        with tempfile.TemporaryDirectory(prefix="mlops-predict-") as tmp:
            chosen = models.resolve(params, model_spec, Path(tmp))
            validator = Validator(
                suite, samples=params.validation.sample_values, engine=engine, scoring=True
            )
            try:
                if spark is not None:
                    input_rows, tally = spark_engine.score(
                        spark, params, source, chosen, validator, partial
                    )
                else:
                    from mlops.batch import pandas_engine

                    input_rows, tally = pandas_engine.score(
                        params,
                        source,
                        chosen,
                        validator,
                        partial,
                        chunk_rows or pandas_engine.CHUNK_ROWS,
                    )
                out.finalize(partial, target, input_rows, out.written_rows(partial))
            except BaseException:
                out.remove(partial)
                raise
    finally:
        if spark is not None:
            spark.stop()
    summary = {
        "input": str(source),
        "output": str(target),
        "engine": engine,
        "model": {
            "source": chosen.source,
            "version": chosen.version,
            "model_md5": chosen.md5,
            "registered_model": params.mlflow.registered_model if chosen.registered else None,
        },
        **tally.summary(),
        "seconds": round(time.monotonic() - started, 2),
    }
    write_json(out.summary_path(target), summary)
    return summary


def figures(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary's figures of the task's outputs, as (name, value) lines."""
    rows: list[tuple[str, str]] = []
    if "label_rate" in summary:
        rate = f"{summary['label_rate']:.4f} ({summary['positives']:,} positive)"
        rows.append(("label rate", rate))
    elif "label_counts" in summary:
        counts = summary["label_counts"]
        rows.append(("labels", ", ".join(f"{k} {v:,}" for k, v in counts.items())))
    for value in (out.PROBABILITY, out.PREDICTION):
        if f"mean_{value}" in summary:
            rows.append((f"mean {value}", f"{summary[f'mean_{value}']:.4f}"))
            quantiles = summary[f"{value}_quantiles"]
            rows += [(f"{value} {k}", f"{v:.4f}") for k, v in quantiles.items()]
    return rows


def describe(summary: dict[str, Any]) -> str:
    """The summary as the lines ``mlops predict`` prints (and the workflow's job summary)."""
    head = (
        f"predict: {summary['rows']} rows scored with {summary['model']['source']} "
        f"(md5 {summary['model']['model_md5']}) on {summary['engine']} "
        f"in {summary['seconds']} s -> {summary['output']}"
    )
    return "\n".join([head, *[f"  {name}: {value}" for name, value in figures(summary)]])


def markdown(summary: dict[str, Any]) -> str:
    """The summary as a job-summary table."""
    rows = [
        ("rows", f"{summary['rows']:,}"),
        ("model", f"{summary['model']['source']} (md5 `{summary['model']['model_md5']}`)"),
        ("engine", summary["engine"]),
        *figures(summary),
        ("seconds", str(summary["seconds"])),
    ]
    lines = ["### Batch scoring", "", "| | |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n\n```json\n" + json.dumps(summary, indent=2) + "\n```\n"
