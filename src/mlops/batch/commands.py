"""The batch scoring commands of ``mlops``: ``predict`` and ``fetch-input`` (``mlops.cli`` adds
them)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from mlops.core.artifacts import MODEL
from mlops.core.commands import Add, params_of, positive_int


def cmd_predict(args: argparse.Namespace) -> None:
    from mlops.batch import predict
    from mlops.ci import workflow as ci

    with contextlib.redirect_stdout(sys.stderr):  # MLflow and Spark talk on stdout
        summary = predict.run(
            params_of(args),
            args.input,
            args.output,
            model_spec=args.model,
            engine=args.engine,
            master=args.master,
            chunk_rows=args.chunk_rows,
        )
    print(predict.describe(summary))
    ci.write_summary(predict.markdown(summary))


def cmd_fetch_input(args: argparse.Namespace) -> None:
    from mlops.batch import inputs
    from mlops.ci import workflow as ci

    # No source (or an empty one: a workflow input left blank): the pipeline's own data.
    source = args.source or str(params_of(args).data.path)
    path = inputs.fetch(source, args.dest)
    ci.write_output("path", str(path))
    print(path)


def register(add: Add) -> None:
    p_predict = add(
        "predict",
        cmd_predict,
        "batch scoring: validate a table (the expectation suite without its target) and write "
        "each row's probability and label to parquet, with a summary JSON beside it",
    )
    p_predict.add_argument(
        "--input",
        type=Path,
        required=True,
        help="a CSV or parquet file, or a directory of parquet files",
    )
    p_predict.add_argument(
        "--output",
        type=Path,
        required=True,
        help="the parquet to write (a directory with --engine spark); replaced only when complete",
    )
    p_predict.add_argument(
        "--model",
        default="champion",
        help="champion (default), a registered version number, a .joblib file such as "
        f"{MODEL}, or auto: the champion when the registry has one, else {MODEL}",
    )
    p_predict.add_argument(
        "--engine",
        choices=["pandas", "spark"],
        default="pandas",
        help="pandas (default): one machine, streamed in chunks; spark: Apache Spark "
        "(the spark extra and Java 17)",
    )
    p_predict.add_argument(
        "--master",
        default="local[*]",
        help="with --engine spark: the Spark master (default local[*]; e.g. spark://host:7077, "
        "yarn)",
    )
    p_predict.add_argument(
        "--chunk-rows",
        type=positive_int,
        metavar="N",
        help="with --engine pandas: rows per chunk (default 200000); memory grows with it",
    )
    p_fetch = add(
        "fetch-input",
        cmd_fetch_input,
        "bring a table to score here: a path DVC tracks in this repository (dvc pull), or a URL "
        "(dvc get-url: s3://, gs://, azure://, https://); prints its path (step output path)",
    )
    p_fetch.add_argument(
        "source",
        nargs="?",
        help="a DVC-tracked path or a URL (s3://...); default: params.yaml's data.path",
    )
    p_fetch.add_argument(
        "--dest",
        type=Path,
        default=Path("build/batch/input"),
        help="where a URL is downloaded to (default: build/batch/input/)",
    )
