"""A drift or degraded verdict on GitHub (the API double, over HTTPS): one issue labelled
model-monitoring opened, then updated while it is open, none for ok; a retrain dispatched."""

from __future__ import annotations

import numpy as np

from mlops.monitoring import alerts
from mlops.monitoring.monitor import judge

from ..conftest import VENV_BIN, run
from .conftest import current_of, resample

REPO = "acme/tables"


def _docs(reference, raw, tmp_path):
    params = reference.params
    ok = judge(reference, current_of(resample(raw, 600, 1), params), params, "ok.csv")
    moved = resample(raw, 600, 2)
    moved["amount"] = (moved["amount"].replace("", np.nan).astype(float) + 25).astype(str)
    drift = judge(reference, current_of(moved, params), params, "moved.csv")
    assert (ok.verdict, drift.verdict) == ("ok", "drift")
    paths = {}
    for name, doc in (("ok", ok), ("drift", drift)):
        paths[name] = tmp_path / f"{name}.json"
        doc.write(paths[name])
    return paths


def _mlops(api, tmp_path, *args: str, run_id: str = "11"):
    env = {**api.client_env(), "GITHUB_REPOSITORY": REPO, "GITHUB_RUN_ID": run_id}
    env["GITHUB_OUTPUT"] = str(tmp_path / f"output-{run_id}")
    return run([str(VENV_BIN / "mlops"), *args], tmp_path, env=env)


def test_one_issue_is_opened_then_updated_and_ok_opens_none(task_references, github_api,
                                                            tmp_path):  # fmt: skip
    raw, reference = task_references["binary"]
    paths = _docs(reference, raw, tmp_path)
    tracker = github_api.tracker

    quiet = _mlops(github_api, tmp_path, "monitor-issue", "--report", str(paths["ok"]))
    assert "no issue opened or updated" in quiet.stdout
    assert tracker.issues == {} and not github_api.calls("POST")

    first = _mlops(github_api, tmp_path, "monitor-issue", "--report", str(paths["drift"]))
    (issue,) = tracker.of(REPO, alerts.LABEL)
    assert f"opened issue #{issue.number}" in first.stdout
    assert issue.title.startswith("Model monitoring: drift")
    assert "feature 'amount' drifted" in issue.body and alerts.WATERMARK in issue.body
    assert f"{github_api.url}/{REPO}/actions/runs/11" in issue.body
    assert (tmp_path / "output-11").read_text().splitlines()[-1] == f"issue={issue.number}"

    second = _mlops(github_api, tmp_path, "monitor-issue", "--report", str(paths["drift"]),
                    run_id="12")  # fmt: skip
    assert f"updated issue #{issue.number}" in second.stdout
    assert len(tracker.of(REPO)) == 1  # the same issue, not another
    assert "actions/runs/12" in tracker.issues[issue.number].body
    (comment,) = github_api.issue_comments(REPO, issue.number)
    assert comment.body.startswith("Still **drift**")

    # Closed by a person: the next alarm opens a new one.
    tracker.issues[issue.number].state = "closed"
    _mlops(github_api, tmp_path, "monitor-issue", "--report", str(paths["drift"]), run_id="13")
    assert len(tracker.of(REPO, alerts.LABEL)) == 2


def test_a_retrain_is_dispatched_for_drift_and_not_for_ok(task_references, github_api, tmp_path):
    raw, reference = task_references["binary"]
    paths = _docs(reference, raw, tmp_path)
    _mlops(github_api, tmp_path, "dispatch-retrain", "--report", str(paths["ok"]))
    assert github_api.tracker.dispatches == []
    out = _mlops(github_api, tmp_path, "dispatch-retrain", "--report", str(paths["drift"]))
    (dispatch,) = github_api.tracker.dispatches
    assert (dispatch.workflow, dispatch.ref) == ("retrain.yml", "main")
    assert dispatch.inputs["reason"].startswith("monitor: drift: feature 'amount' drifted")
    assert dispatch.inputs["promote"] == "true" and dispatch.inputs["force"] == "false"
    assert "retrain.yml dispatched on main" in out.stdout
