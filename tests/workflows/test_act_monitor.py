"""monitor.yml end to end with nektos/act in host mode (tests/act_harness.py), against a real
`mlflow server` holding the champion: labelled production data that drifted opens one issue,
dispatches the retrain and comes back as a data PR, whose own pr.yml run posts its report; the
next alarm updates the same issue and PR; data that did not move does nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops.monitoring import alerts

from ..act_harness import OWNER_REPO, act, commit, pull_request_event
from ..conftest import run
from ..github_api_issues import git_push_to
from .scenarios import TRAIN, WATERMARK

pytestmark = pytest.mark.slow

MONITOR = "Model monitoring/judge production data"
ISSUE = "Model monitoring/open or update the monitoring issue"
RETRAIN = "Model monitoring/dispatch the retrain"
DATA_PR = "Model monitoring/propose the labelled data as a pull request"
BRANCH = "monitor/data-refresh"


def _tables(demo_raw: pd.DataFrame, origin) -> None:
    """Production data in the repository: labelled rows whose contract mix moved (nine in
    ten on month-to-month: more churn predicted, the target's rate up), and a plain resample
    without the target."""
    rng = np.random.default_rng(5)
    moved = demo_raw.iloc[rng.integers(0, len(demo_raw), 1200)].reset_index(drop=True)
    moved["customer_id"] = [f"P{i:05d}" for i in range(len(moved))]  # new customers
    moved.loc[rng.random(len(moved)) < 0.9, "contract"] = "Month-to-month"
    plain = demo_raw.iloc[rng.integers(0, len(demo_raw), 1200)].drop(columns=["churn"])
    (origin / "production").mkdir()
    moved.to_csv(origin / "production" / "labelled.csv", index=False)
    plain.to_csv(origin / "production" / "plain.csv", index=False)


def test_drift_opens_one_issue_a_retrain_and_a_data_pr_whose_pr_job_reports(
    origin, github_api, mlflow_url, demo_raw, tmp_path
):
    owner, name = OWNER_REPO.split("/")
    repository = {"full_name": OWNER_REPO, "name": name, "owner": {"login": owner}}
    server = {"MLFLOW_TRACKING_URI": mlflow_url}
    # main: the demo's pipeline run (the `origin` fixture: the shared trained copy), its model
    # registered and promoted as champion.
    _tables(demo_raw, origin)
    main = commit(origin, "main with production data to judge")
    run(["mlops", "register"], origin, env=server)
    run(["mlops", "promote"], origin, env=server)
    bare = tmp_path / "github.git"  # what the data PR's push reaches
    run(["git", "init", "-q", "--bare", str(bare)], tmp_path)
    run(["git", "push", "-q", str(bare), "HEAD:refs/heads/main"], origin)
    push_env = git_push_to(bare, github_api.url, OWNER_REPO)
    tracker = github_api.tracker

    def monitor(label: str, table: str, **inputs):
        payload = {
            "inputs": {"input": f"production/{table}", "model": "auto", **inputs},
            "ref": "refs/heads/main",
            "repository": repository,
        }
        return act(origin, tmp_path / label, github_api, event="workflow_dispatch",
                   workflow="monitor.yml", payload=payload, env=push_env,
                   variables={**server, "RETRAIN_ON_DRIFT": "true"})  # fmt: skip

    # 1. Drift: one issue, one retrain dispatch, one data PR.
    first = monitor("drift-1", "labelled.csv", propose_data=True)
    assert first.succeeded(MONITOR, "Monitor"), first.log[-8000:]
    assert "Model monitoring: **drift**" in first.summary(MONITOR)
    assert "feature 'contract' drifted" in first.summary(MONITOR)
    assert first.succeeded(ISSUE, "Open or update the issue"), first.log[-6000:]
    (issue,) = tracker.of(OWNER_REPO, alerts.LABEL)
    assert issue.state == "open" and "champion v1" in issue.title
    assert first.succeeded(RETRAIN, "Dispatch the retrain"), first.log[-6000:]
    (dispatch,) = tracker.dispatches
    assert dispatch.workflow == "retrain.yml" and dispatch.ref == "main"
    assert first.succeeded(DATA_PR, "Open or update the data PR"), first.log[-6000:]
    (pull,) = github_api.pulls
    assert pull.head_ref == BRANCH and "1,200 labelled rows" in pull.body
    assert "Approve workflows to run" in pull.body and "Model monitoring" in pull.body

    # 2. The next alarm: the same issue and the same PR, updated.
    second = monitor("drift-2", "labelled.csv", propose_data=True)
    assert second.succeeded(ISSUE, "Open or update the issue"), second.log[-6000:]
    assert len(tracker.of(OWNER_REPO)) == 1 and tracker.issues[issue.number].state == "open"
    assert github_api.issue_comments(OWNER_REPO, issue.number)[0].body.startswith("Still ")
    assert len(github_api.pulls) == 1 and f"updated PR #{pull.number}" in second.log
    assert len(tracker.dispatches) == 2

    # 3. Data that did not move: ok, no issue, no retrain, no PR.
    quiet = monitor("plain", "plain.csv")
    assert quiet.succeeded(MONITOR, "Monitor"), quiet.log[-6000:]
    assert "Model monitoring: **ok**" in quiet.summary(MONITOR)
    assert not quiet.ran(ISSUE, "Open or update the issue")
    assert not quiet.ran(RETRAIN, "Dispatch the retrain")
    assert not quiet.ran(DATA_PR, "Open or update the data PR")
    assert len(tracker.of(OWNER_REPO)) == 1 and len(tracker.dispatches) == 2

    # 4. The data PR's own pipeline (after the approval click): its report comment, pr-check.
    head = run(["git", "rev-parse", BRANCH], bare).stdout.strip()
    run(["git", "fetch", "-q", str(bare), f"{BRANCH}:{BRANCH}"], origin)
    run(["git", "checkout", "-q", BRANCH], origin)
    payload = pull_request_event(pull.number, main, head, fork=False)
    checked = act(origin, tmp_path / "data-pr", github_api, event="pull_request",
                  workflow="pr.yml", payload=payload,
                  variables={**server, "TRAIN_RUNNER": '["self-hosted"]'})  # fmt: skip
    assert checked.succeeded(TRAIN, "Post or update the PR comment"), checked.log[-8000:]
    assert checked.job_result("PR/pr-check") == "success"
    (comment,) = github_api.issue_comments(OWNER_REPO, pull.number)
    assert WATERMARK in comment.body and "champion" in comment.body
    assert "contract" in comment.body  # the data's drift, in the report
