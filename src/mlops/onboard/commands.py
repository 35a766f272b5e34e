"""``mlops init``'s arguments beside its handler (``mlops.cli`` adds them)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlops.core.artifacts import PARAMS, RAW_DIR
from mlops.core.commands import Add


def cmd_init(args: argparse.Namespace) -> None:
    from mlops.onboard import init as onboard

    id_column = None if args.id_column == "none" else args.id_column
    onboard.run(
        onboard.Request(
            data=args.data,
            target=args.target,
            task=args.task,
            positive_label=args.positive_label,
            id_column=id_column,
            name=args.name,
            force=args.force,
        )
    )


def register(add: Add) -> None:
    p = add(
        "init",
        cmd_init,
        f"use your own table: put it under {RAW_DIR}/ (the demo's data and suite go), infer "
        f"each column's role and the task, write {PARAMS} and the expectation suite, dvc add it",
    )
    p.add_argument("--data", type=Path, required=True, help="a CSV or parquet file, anywhere")
    p.add_argument("--target", required=True, help="the column to predict")
    p.add_argument(
        "--task",
        choices=["auto", "binary", "multiclass", "regression"],
        default="auto",
        help="auto (default): from the target's type and distinct values",
    )
    p.add_argument(
        "--positive-label", help="binary: the label of the positive class (default: the rarer)"
    )
    p.add_argument(
        "--id-column",
        default="auto",
        metavar="COLUMN|none",
        help="the row id, never a feature (default: a column unique on every row, if any)",
    )
    p.add_argument(
        "--name",
        help="the MLflow experiment, registered model and service name (default: the "
        "repository folder's name)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help=f"replace other files in {RAW_DIR}/ and uncommitted changes of {PARAMS}",
    )
