"""``mlops``: one subcommand per pipeline stage.

Only the standard library is imported at start-up, so ``mlops --help`` stays fast and never
loads TensorFlow, MLflow, Great Expectations or BentoML; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mlops.core.artifacts import (
    DATA_DOCS,
    DATA_DVC,
    DRIFT,
    METRICS,
    MLFLOW_STORE_EXPORT,
    MODEL,
    PARAMS,
    REPORT_DIR,
    REPORT_JSON,
    REPORT_MD,
    VALIDATION,
    git_commit,
)

Handler = Callable[[argparse.Namespace], Any]


def _params(args: argparse.Namespace) -> Any:
    from mlops.core.config import load_params

    return load_params(args.params)


def cmd_check_params(args: argparse.Namespace) -> None:
    params = _params(args)
    print(f"{args.params}: valid (model.type={params.model_type})")


def cmd_validate(args: argparse.Namespace) -> None:
    from mlops.stages import validate

    if args.init:
        validate.init(_params(args), args.reference, args.output, args.force)
    else:
        validate.run(_params(args), data_path=args.data)


def cmd_drift(args: argparse.Namespace) -> None:
    from mlops.stages import drift

    drift.run(_params(args), reference=args.reference, rev=args.rev, current=args.current)


def cmd_prepare(args: argparse.Namespace) -> None:
    from mlops.stages import prepare as data

    data.run(_params(args))


def cmd_train(args: argparse.Namespace) -> None:
    from mlops.stages import train

    train.run(_params(args), track=not args.no_track)


def cmd_evaluate(args: argparse.Namespace) -> None:
    from mlops.stages import evaluate

    evaluate.run(_params(args))


def cmd_report(args: argparse.Namespace) -> None:
    from mlops.report import build as report

    report.run(
        _params(args),
        params_path=args.params,
        baseline=args.baseline,
        base_rev=args.base_rev,
        base_name=args.base_name,
        output=args.output,
    )


def cmd_gate(args: argparse.Namespace) -> None:
    from mlops.report import gate

    gate.check(_params(args), report_json=args.report)


def _registry_result(args: argparse.Namespace, result: Any) -> None:
    from mlops.ci import workflow as ci

    line = f"{result.action}: {result.model} v{result.version} ({result.detail})"
    print(result.to_json() if args.json else line)
    ci.write_summary(ci.registry_summary(line, _tracking_uri(args)))


def _tracking_uri(args: argparse.Namespace) -> str:
    from mlops.tracking.runs import tracking_uri

    return tracking_uri(_params(args))


def cmd_register(args: argparse.Namespace) -> None:
    from mlops.tracking import registry

    params = _params(args)
    # Keep stdout for the result (MLflow prints progress there); the rest goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        result = registry.register(params, registry.collect_candidate(params))
    _registry_result(args, result)


def cmd_promote(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci
    from mlops.tracking import registry

    params = _params(args)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = registry.promote(params)
    except registry.NotPromotedError as exc:
        ci.write_output("promoted", "false")
        if args.refusal == "fail":
            raise
        # On main, a model that loses to the champion is an outcome, not an error: it stays
        # registered (the challenger), the champion and its image stay.
        print(f"::warning title=Not promoted::{exc}")
        ci.write_summary(ci.registry_summary(str(exc), _tracking_uri(args)))
        print(exc)
        return
    ci.write_output("promoted", "true")
    _registry_result(args, result)


def cmd_rollback(args: argparse.Namespace) -> None:
    from mlops.tracking import registry

    params = _params(args)
    with contextlib.redirect_stdout(sys.stderr):
        result = registry.rollback(params, to=args.to)
    _registry_result(args, result)


def cmd_registry(args: argparse.Namespace) -> None:
    # argparse requires an action (restore, save), whose own handler replaces this one.
    from mlops.core.errors import MlopsError

    raise MlopsError("name an action: mlops registry restore | save")


def cmd_registry_restore(args: argparse.Namespace) -> None:
    from mlops.ci import store_chain
    from mlops.ci import workflow as ci
    from mlops.ci.github import GitHub
    from mlops.core.errors import MlopsError
    from mlops.tracking import store
    from mlops.tracking.runs import server_configured

    params = _params(args)
    if server_configured(params):
        print(f"a tracking server is configured ({_tracking_uri(args)}): nothing to restore")
        return
    if args.fresh:
        record = {"fresh": True, "reason": "a fresh registry was asked for (`fresh_registry`)"}
    else:
        try:
            github = GitHub.from_env(args.repo, permission_hint="actions: read")
            with contextlib.redirect_stdout(sys.stderr):  # MLflow's migration messages
                record = store_chain.restore(params, github, branch=args.branch)
        except MlopsError as exc:
            text = store_chain.failure_summary(exc, read_only=args.read_only)
            ci.write_summary(text)
            if not args.read_only:
                raise
            print(f"::warning title=Registry store not restored::{exc}")
            return
    store.write_restored(record)
    text = store_chain.restored_summary(record, read_only=args.read_only)
    print(text)
    ci.write_summary(text)


def cmd_registry_save(args: argparse.Namespace) -> None:
    from mlops.ci import store_chain
    from mlops.ci import workflow as ci
    from mlops.tracking import store
    from mlops.tracking.runs import server_configured

    params = _params(args)
    if server_configured(params):
        print(f"a tracking server is configured ({_tracking_uri(args)}): nothing to save")
        return
    restored = store.read_restored() or {}
    with contextlib.redirect_stdout(sys.stderr):
        manifest = store.save(params, args.output, restored.get("continued_from"))
    text = store_chain.saved_summary(manifest)
    print(text)
    ci.write_summary(text)


def _flag(text: str) -> bool:
    """A workflow input's boolean: true/false (empty: false, as for a scheduled run)."""
    if text.strip().lower() in ("true", "1", "yes"):
        return True
    if text.strip().lower() in ("", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def cmd_predict(args: argparse.Namespace) -> None:
    from mlops.batch import predict
    from mlops.ci import workflow as ci

    with contextlib.redirect_stdout(sys.stderr):  # MLflow and Spark talk on stdout
        summary = predict.run(
            _params(args),
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
    source = args.source or str(_params(args).data.path)
    path = inputs.fetch(source, args.dest)
    ci.write_output("path", str(path))
    print(path)


def cmd_changed(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci

    files = ci.matching(ci.changed_files(args.base, args.head), ci.CHANGE_SETS[args.what])
    verdict = "true" if files else "false"
    ci.write_output(args.what, verdict)
    print(f"{args.what}={verdict}")
    for name in files:
        print(f"  {name}")


def cmd_extras(args: argparse.Namespace) -> None:
    import yaml

    from mlops.ci import workflow as ci

    types = {str(args.params): ci.model_type(yaml.safe_load(args.params.read_text()), "params")}
    if args.base_rev:
        types[f"{args.base_rev[:12]}"] = ci.model_type(ci.params_at(args.base_rev), args.base_rev)
    extras = ci.needed_extras(list(types.values()))
    where = ", ".join(f"{kind} ({source})" for source, kind in types.items())
    print(f"extras: model.type {where}: {' '.join(extras) or 'no extra'}", file=sys.stderr)
    print(" ".join(f"--extra {e}" for e in extras))


def cmd_needs(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci
    from mlops.core.errors import MlopsError

    failed = ci.needs_failures(ci.parse_needs(args.needs))
    if failed:
        raise MlopsError(f"failed upstream jobs: {', '.join(failed)}")
    print("every upstream job succeeded or was skipped")


def cmd_gpu_check(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci

    for gpu in ci.gpu_check():
        print(gpu)


def cmd_smoke_test(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci

    if args.save_record:
        ci.smoke_record(_params(args), args.save_record)
        print(f"wrote {args.save_record}")
        return
    if not args.url or not args.record:
        from mlops.core.errors import MlopsError

        raise MlopsError("--url and --record are required (or --save-record FILE)")
    record = json.loads(args.record.read_text(encoding="utf-8"))
    print(json.dumps(ci.smoke_test(args.url, record, wait=args.wait)))


def cmd_check_reproduction(args: argparse.Namespace) -> None:
    from mlops.ci import reproduction
    from mlops.ci import workflow as ci
    from mlops.ci.github import GitHub
    from mlops.core.errors import MlopsError

    github = GitHub.from_env(args.repo)
    sha = args.sha or os.environ.get("GITHUB_SHA") or git_commit()
    if not sha:
        raise MlopsError("--sha not given, GITHUB_SHA is not set and this is not a git checkout")
    outcome = reproduction.check(github, sha, tolerance=args.tolerance, author=args.author)
    print(outcome.message)
    ci.write_summary(f"**Reproduction check**: {outcome.message}")


def cmd_no_comment(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci

    print(ci.no_comment(args.reason))


def cmd_image_digest(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci

    digest = ci.image_digest(args.image)
    ci.write_output("image", digest)
    ci.write_summary(f"**Image**: `{digest}`")
    print(digest)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


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
    registry_commands = [
        add(
            "register",
            cmd_register,
            f"register {MODEL} in MLflow (idempotent per commit) as 'challenger'",
        ),
        add(
            "promote",
            cmd_promote,
            "move alias 'champion' to the challenger if it passes the gate and is not worse",
        ),
        add("rollback", cmd_rollback, "move alias 'champion' back to the previous champion"),
    ]
    registry_commands[2].add_argument("--to", metavar="VERSION", help="the version to restore")
    registry_commands[1].add_argument(
        "--refusal",
        choices=["fail", "warn"],
        default="fail",
        help="when the challenger loses to the champion or misses a minimum: fail (default), "
        "or warn and exit 0 (the deploy and retrain workflows); sets the step output promoted",
    )
    p_registry = add(
        "registry",
        cmd_registry,
        "the zero-configuration registry: the production MLflow store kept as a chain of "
        "GitHub Actions artifacts (does nothing when a tracking server is configured)",
    )
    registry_sub = p_registry.add_subparsers(dest="action", metavar="ACTION", required=True)
    p_restore = registry_sub.add_parser(
        "restore",
        help="restore the newest trusted mlflow-store artifact (GitHub REST API, actions: read)",
        description="restore the newest mlflow-store artifact uploaded by a successful "
        "production run (deploy, retrain, rollback) of this repository on main, check it and "
        "record which run it continues (GITHUB_TOKEN, GITHUB_REPOSITORY from the environment)",
    )
    p_restore.set_defaults(handler=cmd_registry_restore)
    p_restore.add_argument(
        "--fresh",
        type=_flag,
        nargs="?",
        const=True,
        default=False,
        help="start an empty store instead (true/false: the retrain workflow's fresh_registry)",
    )
    p_restore.add_argument(
        "--read-only",
        action="store_true",
        help="for a PR's report: a store that cannot be restored is a warning, not an error",
    )
    p_restore.add_argument("--branch", default="main", help="the production branch (main)")
    p_restore.add_argument("--repo", help="owner/name (default: GITHUB_REPOSITORY)")
    p_save = registry_sub.add_parser(
        "save",
        help="check the local MLflow store and copy it, with its manifest, for the artifact",
        description="check the local MLflow store and copy it into one folder with a manifest "
        "(which run saved it and which it continued), for the mlflow-store artifact",
    )
    p_save.set_defaults(handler=cmd_registry_save)
    p_save.add_argument(
        "--output",
        type=Path,
        default=MLFLOW_STORE_EXPORT,
        help=f"the folder to write (replaced; default: {MLFLOW_STORE_EXPORT}/)",
    )
    from mlops.serving import commands as serving

    serving.register(add)
    for p in registry_commands:
        p.add_argument("--json", action="store_true", help="print the result as JSON")
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
        type=_positive_int,
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
    # The workflows' decisions (src/mlops/ci.py), so none of them lives only in YAML.
    p_changed = add(
        "changed",
        cmd_changed,
        "did the change touch the pipeline's inputs (params, data, pipeline, code, lock)? "
        "prints and sets the step output pipeline=true|false (--for full-tests: what the "
        "slow test tier checks)",
    )
    p_changed.add_argument(
        "--for",
        dest="what",
        choices=["pipeline", "full-tests"],
        default="pipeline",
        help="pipeline (default): the PR workflow's training inputs; full-tests: the "
        "workflows, the act harness, src/ and the install (CI's slow test tier)",
    )
    p_changed.add_argument("--base", required=True, help="the base revision (the PR's base)")
    p_changed.add_argument("--head", default="HEAD", help="the head revision (default: HEAD)")
    p_extras = add(
        "extras",
        cmd_extras,
        "print the uv flags (--extra NAME ...) that install the libraries of the model families "
        "params.yaml (and --base-rev's, whose model the PR report loads) use",
    )
    p_extras.add_argument("--base-rev", help="also the model.type of this git revision")
    p_needs = add(
        "needs", cmd_needs, "fail when an upstream job failed or was cancelled (toJSON(needs))"
    )
    p_needs.add_argument("--needs", required=True, help="the workflow's toJSON(needs)")
    add("gpu-check", cmd_gpu_check, "the GPU runner's health check: list the GPUs (nvidia-smi)")
    p_smoke = add(
        "smoke-test",
        cmd_smoke_test,
        "health check and one prediction against a running service (the container)",
    )
    p_smoke.add_argument("--url", help="the service's base URL, e.g. http://127.0.0.1:3000")
    p_smoke.add_argument("--record", type=Path, help="JSON file holding one record")
    p_smoke.add_argument("--wait", type=float, default=60.0, help="seconds to wait for /readyz")
    p_smoke.add_argument(
        "--save-record",
        type=Path,
        metavar="FILE",
        help="instead: write the test split's first record to FILE (for a later smoke test)",
    )
    p_repro = add(
        "check-reproduction",
        cmd_check_reproduction,
        "after `dvc repro` on a merge: fail unless the metrics match the merged PR's report "
        "(its comment's record, read through the GitHub API) when the inputs are the same",
    )
    p_repro.add_argument("--sha", help="the pushed commit (default: GITHUB_SHA, else HEAD)")
    p_repro.add_argument("--repo", help="owner/name (default: GITHUB_REPOSITORY)")
    p_repro.add_argument(
        "--tolerance",
        type=float,
        default=1e-6,
        help="largest absolute difference allowed per metric (default: 1e-6)",
    )
    p_repro.add_argument(
        "--author",
        default="github-actions[bot]",
        help="only trust report comments by this login (default: github-actions[bot])",
    )
    p_nocomment = add(
        "no-comment",
        cmd_no_comment,
        "say (warning annotation and job summary) why the PR job posted no report comment",
    )
    p_nocomment.add_argument("--reason", required=True, help="what failed, e.g. setting up CML")
    p_digest = add(
        "image-digest", cmd_image_digest, "the pushed image's digest (step output and summary)"
    )
    p_digest.add_argument("image", help="the image, e.g. ghcr.io/owner/repo:sha")
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
