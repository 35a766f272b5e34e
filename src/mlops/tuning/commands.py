"""The tuning commands of ``mlops``: ``tune`` (the search) and ``tune-pr`` (its winner as a
pull request); ``mlops.cli`` adds them."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path

from mlops.core.artifacts import PARAMS, TUNE_DIR, TUNE_JSON, TUNE_MD
from mlops.core.commands import Add, params_of
from mlops.core.errors import MlopsError

BRANCH_PREFIX = "tune/"


def _or_default(kind: Callable[[str], float]) -> Callable[[str], float | None]:
    """A workflow input's number: empty means params.yaml's tune value."""

    def parse(text: str) -> float | None:
        if not text.strip():
            return None
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    return parse


def cmd_tune(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci
    from mlops.tuning import report, tune

    params = params_of(args)
    with contextlib.redirect_stdout(sys.stderr):  # MLflow talks on stdout
        doc = tune.run(
            params,
            args.params,
            family=args.family or None,
            trials=args.trials,
            timeout_minutes=args.timeout_minutes,
            track=not args.no_track,
            out_dir=args.output_dir,
        )
    if doc.verdict == "better":
        changed = ", ".join(f"{k}: {v}" for k, v in doc.changes.items()) or "nothing"
        print(f"tune: better than the current params; {args.params} now has {changed}")
    else:
        print(f"tune: no better than the current params; {args.params} is unchanged")
    print(f"tune: {args.output_dir}/{TUNE_MD.name} and {TUNE_JSON.name}")
    ci.write_output("verdict", doc.verdict)
    ci.write_output("family", doc.family)
    ci.write_summary(report.markdown(doc))


def cmd_tune_pr(args: argparse.Namespace) -> None:
    from mlops.ci import pull_request
    from mlops.ci import workflow as ci
    from mlops.tuning.report import TuneJson
    from mlops.tuning.tune import apply

    doc = TuneJson.read(args.report)
    if doc.verdict != "better":
        print("tune-pr: the search found nothing better than the current params: no PR")
        ci.write_output("pr", "")
        return
    pull_request.push_token()  # refused before params.yaml is touched
    if not apply(doc.changes, args.params):
        print(f"tune-pr: {args.params} already has the search's values")
    params_of(args)  # valid, or no push
    markdown = args.report.with_name(TUNE_MD.name)
    if not markdown.is_file():
        raise MlopsError(f"tune-pr: {markdown} does not exist beside {args.report}")
    assert doc.best is not None
    title = (
        f"Tune {doc.family}: {doc.metric} {doc.current.mean:.4f} → {doc.best.mean:.4f} "
        f"({doc.cv_folds}-fold CV)"
    )
    found = ci.run_url()
    where = f"[this run]({found})" if found else "`mlops tune`"
    again = f"`mlops tune --family {doc.family} --trials {doc.trials_asked}`"
    report = markdown.read_text(encoding="utf-8").rstrip("\n")

    def body(note: str) -> str:
        return (
            f"{report}\n\nSearched by {where} on the base branch's commit; {again} repeats "
            f"the search (seeded: `tune.seed`).\n\n**Checks:** {note}\n"
        )

    branch = f"{BRANCH_PREFIX}{doc.family}"
    pr = pull_request.propose(branch, args.base, title, [str(args.params)], body)
    print(f"tune-pr: {pr.action} PR #{pr.number} from {branch} ({pr.sha[:12]}) {pr.url}")
    ci.write_output("pr", str(pr.number))
    ci.write_summary(f"Tuning PR #{pr.number} {pr.action}: {title}. {pr.note}\n")


def register(add: Add) -> None:
    p = add(
        "tune",
        cmd_tune,
        "search a model family's hyper-parameters (Optuna, seeded TPE, K-fold CV on the "
        "training split; tune: in params.yaml); write the best into params.yaml only when it "
        f"is surely better than the current params; report in {TUNE_DIR}/",
    )
    p.add_argument(
        "--family",
        default="",
        help="the model family to search (default: model.type; a family of "
        "src/mlops/models/); another family also sets model.type when it wins",
    )
    p.add_argument("--trials", type=_or_default(int), help="default: tune.trials")
    p.add_argument(
        "--timeout-minutes", type=_or_default(float), help="default: tune.timeout_minutes"
    )
    p.add_argument("--no-track", action="store_true", help="do not log the search to MLflow")
    p.add_argument("--output-dir", type=Path, default=TUNE_DIR, help=f"default: {TUNE_DIR}")
    pr = add(
        "tune-pr",
        cmd_tune_pr,
        f"open (or update) the pull request of a better search result ({TUNE_JSON}): its "
        f"values into {PARAMS}, branch {BRANCH_PREFIX}<family> pushed (PR_TOKEN, else "
        "GITHUB_TOKEN), the body its report; nothing better: nothing",
    )
    pr.add_argument(
        "--report", type=Path, default=TUNE_JSON, help=f"the search's result ({TUNE_JSON})"
    )
    pr.add_argument("--base", default="main", help="the PR's base branch (default: main)")
