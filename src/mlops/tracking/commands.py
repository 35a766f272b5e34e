"""The registry commands of ``mlops``, each with its arguments beside its handler:
``register``, ``promote``, ``rollback`` and ``registry restore | save`` (``mlops.cli`` adds
them)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from mlops.core.artifacts import MLFLOW_STORE_EXPORT, MODEL
from mlops.core.commands import Add, flag, params_of


def _registry_result(args: argparse.Namespace, result: Any) -> None:
    from mlops.ci import workflow as ci

    line = f"{result.action}: {result.model} v{result.version} ({result.detail})"
    print(result.to_json() if args.json else line)
    ci.write_summary(ci.registry_summary(line, _tracking_uri(args)))


def _tracking_uri(args: argparse.Namespace) -> str:
    from mlops.tracking.runs import tracking_uri

    return tracking_uri(params_of(args))


def cmd_register(args: argparse.Namespace) -> None:
    from mlops.tracking import registry

    params = params_of(args)
    # Keep stdout for the result (MLflow prints progress there); the rest goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        candidate = registry.collect_candidate(params)
        result = registry.register(params, candidate, skip_unchanged=args.skip_unchanged)
    from mlops.ci import workflow as ci

    ci.write_output("registered", "true" if result.action == "registered" else "false")
    _registry_result(args, result)


def cmd_promote(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci
    from mlops.tracking import registry

    params = params_of(args)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = registry.promote(params, evidence=args.evidence)
    except registry.NotPromotedError as exc:
        ci.write_output("promoted", "false")
        # Passed the gate, awaiting the live comparison: a new image carries it as the
        # challenger beside the champion (mlops.serving.challenger), so it can be shadowed.
        awaiting = isinstance(exc, registry.AwaitingEvidenceError)
        ci.write_output("image", "true" if awaiting else "false")
        if args.refusal == "fail":
            raise
        # On main, a model that loses to the champion is an outcome, not an error: it stays
        # registered (the challenger), the champion and its image stay.
        print(f"::warning title=Not promoted::{exc}")
        ci.write_summary(ci.registry_summary(str(exc), _tracking_uri(args)))
        print(exc)
        return
    ci.write_output("promoted", "true")
    ci.write_output("image", "true")
    _registry_result(args, result)


def cmd_rollback(args: argparse.Namespace) -> None:
    from mlops.tracking import registry

    params = params_of(args)
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

    params = params_of(args)
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

    params = params_of(args)
    if server_configured(params):
        print(f"a tracking server is configured ({_tracking_uri(args)}): nothing to save")
        return
    restored = store.read_restored() or {}
    with contextlib.redirect_stdout(sys.stderr):
        manifest = store.save(params, args.output, restored.get("continued_from"))
    text = store_chain.saved_summary(manifest)
    print(text)
    ci.write_summary(text)


def register(add: Add) -> None:
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
    registry_commands[0].add_argument(
        "--skip-unchanged",
        action="store_true",
        help="register nothing when the model is byte-identical to a registered version (a "
        "retrain on unchanged inputs) and say so; sets the step output registered",
    )
    registry_commands[1].add_argument(
        "--refusal",
        choices=["fail", "warn"],
        default="fail",
        help="when the challenger loses to the champion or misses a minimum: fail (default), "
        "or warn and exit 0 (the deploy and retrain workflows); sets the step outputs promoted "
        "and image (true also when it awaits the live comparison, gate.online.required)",
    )
    registry_commands[1].add_argument(
        "--evidence",
        type=Path,
        metavar="ONLINE_REPORT_JSON",
        help="mlops online-report's online-report.json: the challenger must also pass "
        "gate.online's rules on live traffic (required when gate.online.required is true)",
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
        type=flag,
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
    for p in registry_commands:
        p.add_argument("--json", action="store_true", help="print the result as JSON")
