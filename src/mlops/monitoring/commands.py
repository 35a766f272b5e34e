"""The monitoring commands of ``mlops``: ``monitor``, ``online-report``, ``monitor-issue``,
``dispatch-retrain`` and ``data-pr`` (``mlops.cli`` adds them)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from mlops.core.artifacts import DATA_DVC, MODEL, MONITOR_DIR, MONITOR_JSON, ONLINE_DIR
from mlops.core.commands import Add, params_of


def cmd_monitor(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci
    from mlops.monitoring import monitor, report

    with contextlib.redirect_stdout(sys.stderr):  # MLflow and DVC talk on stdout
        doc = monitor.run(
            params_of(args),
            args.current,
            model_spec=args.model,
            reference_path=args.reference,
            out_dir=args.output_dir,
        )
    print(f"monitor: {doc.verdict}: {report.MEANING[doc.verdict]}")
    for reason in doc.reasons:
        print(f"  - {reason}")
    print(f"monitor: {args.output_dir}/monitor.md and monitor.json")
    ci.write_output("verdict", doc.verdict)
    ci.write_output("labelled", "true" if doc.performance is not None else "false")
    ci.write_summary(report.markdown(doc))


def cmd_online_report(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci
    from mlops.monitoring import online, online_report

    doc = online.run(params_of(args), args.records, args.labels, args.output_dir)
    print(
        f"online-report: {doc.verdict}: champion v{doc.champion_version} vs challenger "
        f"v{doc.challenger_version} on {doc.paired_rows:,} recorded rows"
    )
    for reason in doc.reasons:
        print(f"  - {reason}")
    print(f"online-report: {args.output_dir}/online-report.md and online-report.json")
    ci.write_output("verdict", doc.verdict)
    ci.write_summary(online_report.markdown(doc))


def cmd_monitor_issue(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci
    from mlops.ci.github import GitHub
    from mlops.monitoring import alerts
    from mlops.monitoring.report import MonitorJson

    doc = MonitorJson.read(args.report)
    if doc.verdict == "ok":
        print("monitor-issue: the verdict is ok: no issue opened or updated")
        ci.write_output("issue", "")
        return
    github = GitHub.from_env(permission_hint="issues: write")
    action, number = alerts.open_or_update(github, doc, ci.run_url())
    print(f"monitor-issue: {action} issue #{number} (label {alerts.LABEL}): {doc.verdict}")
    ci.write_output("issue", str(number))
    ci.write_summary(f"Monitoring issue #{number} {action} ({doc.verdict}).\n")


def cmd_dispatch_retrain(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci
    from mlops.ci.github import GitHub
    from mlops.monitoring import alerts
    from mlops.monitoring.report import MonitorJson

    doc = MonitorJson.read(args.report)
    if doc.verdict == "ok":
        print("dispatch-retrain: the verdict is ok: no retrain")
        return
    github = GitHub.from_env(permission_hint="actions: write")
    reason = alerts.dispatch_retrain(github, doc, args.ref)
    print(f"dispatch-retrain: {alerts.RETRAIN_WORKFLOW} dispatched on {args.ref}: {reason}")
    ci.write_summary(f"Retrain dispatched on `{args.ref}`: {reason}\n")


def cmd_data_pr(args: argparse.Namespace) -> None:
    from mlops.ci import pull_request
    from mlops.ci import workflow as ci
    from mlops.monitoring import datapr

    params = params_of(args)
    if args.push:
        pull_request.push_token()  # refused before anything is written
    with contextlib.redirect_stdout(sys.stderr):
        proposal = datapr.run(params, args.current)
        paths = datapr.write(proposal, params)
    print(
        f"data-pr: {proposal.added_rows:,} labelled rows {proposal.mode}ed: "
        f"{params.data.path} now {len(proposal.table):,} rows, validated; {DATA_DVC} updated"
    )
    if not args.push:
        print(f"data-pr: --no-push: commit {', '.join(paths)} yourself")
        return
    monitor_md = args.monitor_report.read_text() if args.monitor_report.is_file() else None
    title = f"Data: {proposal.added_rows:,} labelled production rows ({proposal.mode})"
    pr = pull_request.propose(
        args.branch, args.base, title, paths,
        lambda note: datapr.body(proposal, str(args.current), monitor_md, note),
    )  # fmt: skip
    print(f"data-pr: {pr.action} PR #{pr.number} from {args.branch} ({pr.sha[:12]}) {pr.url}")
    ci.write_output("pr", str(pr.number))
    ci.write_summary(f"Data PR #{pr.number} {pr.action}: {title}. {pr.note}\n")


def _report_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report", type=Path, default=MONITOR_JSON, help=f"the monitor report ({MONITOR_JSON})"
    )


def register(add: Add) -> None:
    p = add(
        "monitor",
        cmd_monitor,
        "judge production data (a table, or the service's traffic records) against the data "
        "the model was trained on: drift of inputs, predictions and target, and, with the "
        f"target, its metrics; verdict ok, drift or degraded in {MONITOR_DIR}/ (exit 0)",
    )
    p.add_argument(
        "--current",
        type=Path,
        required=True,
        help="a CSV or parquet file, a directory of parquet files, or the service's records "
        "(its MLOPS_RECORDS_DIR, or any folder or data file below it)",
    )
    p.add_argument(
        "--model",
        default="auto",
        help=f"auto (default: the registry's champion, else {MODEL}), champion, a "
        "registered version number, or a .joblib file",
    )
    p.add_argument(
        "--reference",
        type=Path,
        help="a model file's training data (default: data.path); a registered model always "
        "uses its own, from its git_commit through DVC",
    )
    p.add_argument("--output-dir", type=Path, default=MONITOR_DIR, help=f"default: {MONITOR_DIR}")
    online = add(
        "online-report",
        cmd_online_report,
        "compare the champion and the challenger on the same live traffic (the service's "
        "records in shadow or canary mode), and with --labels on the outcomes joined by id: "
        f"each metric's paired difference and interval, in {ONLINE_DIR}/ (exit 0)",
    )
    online.add_argument(
        "--records",
        type=Path,
        required=True,
        help="the service's traffic records (its MLOPS_RECORDS_DIR, or any folder or data "
        "file below it), written with MLOPS_CHALLENGER_MODE shadow or canary",
    )
    online.add_argument(
        "--labels",
        type=Path,
        help="the outcomes: a CSV or parquet table of data.id_column and data.target",
    )
    online.add_argument(
        "--output-dir", type=Path, default=ONLINE_DIR, help=f"default: {ONLINE_DIR}"
    )
    issue = add(
        "monitor-issue",
        cmd_monitor_issue,
        "open the one GitHub issue labelled model-monitoring for a drift or degraded verdict, "
        "or update it while it is open (GITHUB_TOKEN with issues: write); ok: nothing",
    )
    _report_argument(issue)
    retrain = add(
        "dispatch-retrain",
        cmd_dispatch_retrain,
        "start the retrain workflow for a drift or degraded verdict (GITHUB_TOKEN with "
        "actions: write); ok: nothing",
    )
    _report_argument(retrain)
    retrain.add_argument("--ref", default="main", help="the branch to retrain on (default: main)")
    data = add(
        "data-pr",
        cmd_data_pr,
        "propose labelled production data as training data: validated, appended to (or "
        f"replacing, monitor.data_mode) data.path, {DATA_DVC} updated and pushed, then a "
        "branch and one PR opened or updated on it (PR_TOKEN, else GITHUB_TOKEN)",
    )
    data.add_argument("--current", type=Path, required=True, help="a CSV or parquet table")
    data.add_argument("--branch", default="monitor/data-refresh", help="the PR's branch")
    data.add_argument("--base", default="main", help="the PR's base branch (default: main)")
    data.add_argument(
        "--monitor-report",
        type=Path,
        default=MONITOR_DIR / "monitor.md",
        help="the monitor report the PR body carries, when it exists",
    )
    data.add_argument(
        "--no-push", dest="push", action="store_false", help="write and record the data only"
    )
