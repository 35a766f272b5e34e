"""``mlops``: one subcommand per pipeline stage (here), and the other commands beside their
concern, each module's ``register`` declaring its arguments next to its handlers:
``onboard/commands.py`` (init), ``tracking/commands.py`` (the registry),
``serving/commands.py`` (the bento), ``batch/commands.py`` (predict),
``monitoring/commands.py`` (monitor), ``tuning/commands.py`` (tune) and ``ci/commands.py``
(what the workflows call).

Only the standard library is imported at start-up, so ``mlops --help`` stays fast and never
loads TensorFlow, MLflow, Great Expectations or BentoML; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mlops.core.artifacts import (
    DATA_DOCS,
    DATA_DVC,
    DRIFT,
    METRICS,
    MODEL,
    PARAMS,
    REPORT_DIR,
    REPORT_JSON,
    REPORT_MD,
    VALIDATION,
)
from mlops.core.commands import Handler, params_of


def cmd_check_params(args: argparse.Namespace) -> None:
    params = params_of(args)
    print(f"{args.params}: valid (model.type={params.model_type})")


def cmd_validate(args: argparse.Namespace) -> None:
    from mlops.stages import validate

    if args.init:
        validate.init(params_of(args), args.reference, args.output, args.force)
    else:
        validate.run(params_of(args), data_path=args.data)


def cmd_drift(args: argparse.Namespace) -> None:
    from mlops.stages import drift

    drift.run(params_of(args), reference=args.reference, rev=args.rev, current=args.current)


def cmd_prepare(args: argparse.Namespace) -> None:
    from mlops.stages import prepare as data

    data.run(params_of(args))


def cmd_train(args: argparse.Namespace) -> None:
    from mlops.stages import train

    train.run(params_of(args), track=not args.no_track)


def cmd_evaluate(args: argparse.Namespace) -> None:
    from mlops.stages import evaluate

    evaluate.run(params_of(args))


def cmd_report(args: argparse.Namespace) -> None:
    from mlops.report import build as report

    report.run(
        params_of(args),
        params_path=args.params,
        baseline=args.baseline,
        base_rev=args.base_rev,
        base_name=args.base_name,
        output=args.output,
    )


def cmd_gate(args: argparse.Namespace) -> None:
    from mlops.report import gate

    gate.check(params_of(args), report_json=args.report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlops",
        description="Pipeline stages of the MLOps template. dvc.yaml runs them in order "
        "(`dvc repro`); each can also be run on its own from the repository root.",
    )
    parser.add_argument(
        "--params",
        type=Path,
        default=PARAMS,
        help=f"configuration file (default: {PARAMS})",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    from mlops.onboard import commands as onboard

    onboard.register(add)
    add("check-params", cmd_check_params, "validate params.yaml and exit")
    p_val = add(
        "validate",
        cmd_validate,
        "check the raw data against the expectation suite (Great Expectations); write "
        f"{VALIDATION} and the Data Docs site ({DATA_DOCS}/)",
    )
    p_val.add_argument("--data", type=Path, help="CSV to validate (default: data.path)")
    p_val.add_argument(
        "--init",
        action="store_true",
        help="profile a reference file and write a starting suite (validation.suite)",
    )
    p_val.add_argument(
        "--reference", type=Path, help="with --init: the file to profile (default: data.path)"
    )
    p_val.add_argument(
        "--output", type=Path, help="with --init: where to write (default: validation.suite)"
    )
    p_val.add_argument("--force", action="store_true", help="with --init: overwrite the suite")
    p_drift = add(
        "drift",
        cmd_drift,
        f"compare the current data with a reference (a file or a git revision); write {DRIFT}",
    )
    ref = p_drift.add_mutually_exclusive_group(required=True)
    ref.add_argument("--reference", type=Path, help="reference CSV file")
    ref.add_argument(
        "--rev", help=f"git revision whose data ({DATA_DVC}, read through DVC) is the reference"
    )
    p_drift.add_argument("--current", type=Path, help="current CSV (default: data.path)")
    add("prepare", cmd_prepare, "clean the raw data and split it into train/test parquet files")
    p_train = add("train", cmd_train, f"fit preprocessing + model and save {MODEL}")
    p_train.add_argument("--no-track", action="store_true", help="do not log the run to MLflow")
    add("evaluate", cmd_evaluate, "score the model on the test split; write metrics and plots")
    p_report = add(
        "report",
        cmd_report,
        "the PR report: this checkout's model vs the baseline (main through DVC, or the "
        f"registry's champion), both on this test split; writes {REPORT_MD} and {REPORT_DIR}/",
    )
    p_report.add_argument(
        "--baseline",
        choices=["auto", "main", "champion"],
        default="auto",
        help="auto (default): the champion when an MLflow server is configured or the "
        "production store was restored (mlops registry restore) and has one, else the model at "
        "--base-rev",
    )
    p_report.add_argument(
        "--base-rev", help="git revision of the baseline (default: main, else origin/main)"
    )
    p_report.add_argument(
        "--base-name",
        help="how the report names the --base-rev baseline, e.g. the PR's base branch (main) "
        "when --base-rev is its commit SHA (default: the revision, a SHA shortened)",
    )
    p_report.add_argument(
        "--output", type=Path, default=REPORT_MD, help=f"markdown file (default: {REPORT_MD})"
    )
    p_gate = add(
        "gate",
        cmd_gate,
        f"apply params.yaml's gate to the PR report ({REPORT_JSON}; without one, the minimums "
        f"to {METRICS}); exit 1 listing each failed rule",
    )
    p_gate.add_argument(
        "--report",
        type=Path,
        default=REPORT_JSON,
        help=f"the report's JSON (default: {REPORT_JSON})",
    )
    from mlops.serving import commands as serving

    serving.register(add)
    from mlops.batch import commands as batch
    from mlops.ci import commands as ci
    from mlops.monitoring import commands as monitoring
    from mlops.tracking import commands as registry
    from mlops.tuning import commands as tuning

    registry.register(add)
    batch.register(add)
    monitoring.register(add)
    tuning.register(add)
    ci.register(add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from mlops.core.errors import MlopsError

    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except MlopsError as exc:
        print(f"mlops {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
