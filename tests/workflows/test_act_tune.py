"""tune.yml end to end with nektos/act in host mode (tests/act_harness.py), against a real
`mlflow server` holding the champion: a dispatch searches the hyper-parameters on the training
split, pushes tune/<family> with the winner in params.yaml and opens one PR whose body is the
search's report; that PR's own pr.yml run (after the approval click) trains the candidate,
posts its report against the champion and reports pr-check on the branch's head."""

from __future__ import annotations

import pytest
import yaml

from ..act_harness import OWNER_REPO, act, commit, pull_request_event
from ..conftest import run
from ..github_api_issues import git_push_to
from .scenarios import TRAIN, WATERMARK, set_param

pytestmark = pytest.mark.slow

TUNE = "Tune/search the hyper-parameters"
PULL = "Tune/propose the winner as a pull request"
BRANCH = "tune/logreg"


def test_a_dispatch_searches_opens_a_pr_with_its_report_and_the_pr_job_checks_it(
    origin, github_api, mlflow_url, tmp_path
):
    owner, name = OWNER_REPO.split("/")
    repository = {"full_name": OWNER_REPO, "name": name, "owner": {"login": owner}}
    server = {"MLFLOW_TRACKING_URI": mlflow_url, "TRAIN_RUNNER": '["self-hosted"]'}
    # The champion: the demo's pipeline run (the `origin` fixture: the shared trained copy),
    # registered, promoted.
    run(["mlops", "register"], origin, env={"MLFLOW_TRACKING_URI": mlflow_url})
    run(["mlops", "promote"], origin, env={"MLFLOW_TRACKING_URI": mlflow_url})
    # main's params since: far too much regularisation, and a short search to find that out.
    set_param(origin, "    C: 1.0\n", "    C: 0.0001\n")
    set_param(origin, "  trials: 30 ", "  trials: 4  ")
    set_param(origin, "  cv_folds: 5 ", "  cv_folds: 3 ")
    main = commit(origin, "main: logistic regression with C 0.0001")
    bare = tmp_path / "github.git"  # what the tuning PR's push reaches
    run(["git", "init", "-q", "--bare", str(bare)], tmp_path)
    run(["git", "push", "-q", str(bare), "HEAD:refs/heads/main"], origin)

    payload = {
        "inputs": {"family": "model.type", "trials": "", "timeout_minutes": ""},
        "ref": "refs/heads/main",
        "repository": repository,
    }
    tuned = act(origin, tmp_path / "tune", github_api, event="workflow_dispatch",
                workflow="tune.yml", payload=payload, variables=server,
                env=git_push_to(bare, github_api.url, OWNER_REPO))  # fmt: skip
    assert tuned.succeeded(TUNE, "Search"), tuned.log[-8000:]
    assert "tune: trial 4/4" in tuned.log  # a line per trial in a workflow's log
    assert "Better than the current params" in tuned.summary(TUNE)
    assert tuned.succeeded(PULL, "Open or update the tuning PR"), tuned.log[-8000:]
    (pull,) = github_api.pulls
    report = (tuned.artifacts / "tune-report" / "tune.md").read_text()
    assert pull.head_ref == BRANCH and pull.body.startswith(report.rstrip("\n"))
    assert "Approve workflows to run" in pull.body
    assert "Searched by [this run](" in pull.body  # the run's page
    # The branch: main plus params.yaml with the winning C, committed by the bot.
    head = run(["git", "rev-parse", BRANCH], bare).stdout.strip()
    assert run(["git", "rev-parse", f"{BRANCH}~1"], bare).stdout.strip() == main
    pushed = yaml.safe_load(run(["git", "show", f"{BRANCH}:params.yaml"], bare).stdout)
    assert pushed["model"]["logreg"]["C"] > 0.001

    # The PR's own pipeline (after the approval click): its report comment, pr-check.
    run(["git", "fetch", "-q", str(bare), f"{BRANCH}:{BRANCH}"], origin)
    run(["git", "checkout", "-q", BRANCH], origin)
    checked = act(origin, tmp_path / "pr", github_api, event="pull_request", workflow="pr.yml",
                  payload=pull_request_event(pull.number, main, head, fork=False),
                  variables=server)  # fmt: skip
    assert checked.succeeded(TRAIN, "Post or update the PR comment"), checked.log[-8000:]
    assert checked.job_result("PR/pr-check") == "success"
    (comment,) = github_api.issue_comments(OWNER_REPO, pull.number)
    assert WATERMARK in comment.body and "this PR vs champion v1" in comment.body
    assert "| metric | champion v1 | this PR | Δ (95% CI) |" in comment.body  # the test split
