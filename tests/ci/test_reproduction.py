"""mlops check-reproduction: the deploy workflow's check that a retrained model is the PR's.

The record itself is written by `mlops report` (tests/report/test_report.py) and checked end
to end by the deploy workflow's act test (tests/workflows/test_act_deploy.py); here: its parts,
and the command against the GitHub API double.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlops.ci import reproduction

from ..conftest import REPO_ROOT, VENV_BIN, execute, run_env
from ..github_api import GitHubAPI

REPO = "acme/churn"
SHA = "0123456789abcdef0123456789abcdef01234567"
METRICS = {"roc_auc": 0.842336, "pr_auc": 0.631853, "f1": 0.617254, "brier": 0.137902}


@pytest.fixture
def checkout(tmp_path) -> Path:
    """dvc.lock and uv.lock of this repository, and the evaluate stage's metrics file."""
    root = tmp_path / "checkout"
    root.mkdir()
    shutil.copy(REPO_ROOT / "dvc.lock", root / "dvc.lock")
    shutil.copy(REPO_ROOT / "uv.lock", root / "uv.lock")
    (root / "metrics").mkdir()
    (root / "metrics" / "evaluate.json").write_text(json.dumps(METRICS))
    return root


def with_param(root: Path, stage: str, key: str, value: object) -> None:
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    lock["stages"][stage]["params"]["params.yaml"][key] = value
    (root / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))


def test_inputs_are_the_roots_params_and_commands_of_dvc_lock(checkout) -> None:
    inputs = reproduction.pipeline_inputs(checkout)
    # Dependencies that a stage produces are outputs, not inputs.
    assert "data/raw" in inputs and "src/mlops/stages/train.py" in inputs
    assert "reports/validation.json" not in inputs
    assert not any(k.startswith("data/prepared/") or k.startswith("models/") for k in inputs)
    assert {"cmd train", "params.yaml:model.type", "params.yaml:features", "uv.lock"} <= set(inputs)
    lock = yaml.safe_load((checkout / "dvc.lock").read_text())
    raw = next(d for d in lock["stages"]["prepare"]["deps"] if d["path"] == "data/raw")
    assert inputs["data/raw"] == raw["md5"]

    before = dict(inputs)
    model_type = lock["stages"]["train"]["params"]["params.yaml"]["model.type"]
    key = f"model.{model_type}"
    value = dict(lock["stages"]["train"]["params"]["params.yaml"][key])
    value[next(iter(value))] = "changed"
    with_param(checkout, "train", key, value)
    (checkout / "uv.lock").write_text("another lock\n")
    after = reproduction.pipeline_inputs(checkout)
    assert reproduction.differing_inputs(before, after) == [f"params.yaml:{key}", "uv.lock"]


def test_inputs_need_a_dvc_lock(tmp_path) -> None:
    with pytest.raises(reproduction.ArtifactError, match=r"dvc\.lock not found"):
        reproduction.pipeline_inputs(tmp_path)
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    with pytest.raises(reproduction.ArtifactError, match="records no stage"):
        reproduction.pipeline_inputs(tmp_path)


def test_the_record_is_a_hidden_comment_that_round_trips(checkout) -> None:
    rec = reproduction.record(checkout)
    assert rec["metrics"] == METRICS
    rec["inputs"]["src/evil-->path"] = "x>y"  # cannot close the HTML comment early
    text = "## Report\n\nsome table\n\n" + reproduction.record_comment(rec)
    hidden = text.split("<!--", 1)[1]
    assert hidden.count("-->") == 1 and hidden.rstrip().endswith("-->")
    assert reproduction.parse_records(text) == [rec]
    assert reproduction.parse_records("<!-- mlops-record {not json} -->") == []
    assert reproduction.parse_records('<!-- mlops-record {"version": 99} -->') == []
    assert reproduction.parse_records("no record here") == []


def test_metric_mismatches_name_each_metric() -> None:
    actual = dict(METRICS)
    assert reproduction.metric_mismatches(METRICS, actual, 1e-6) == []
    actual["roc_auc"] += 5e-7  # within the tolerance
    assert reproduction.metric_mismatches(METRICS, actual, 1e-6) == []
    actual["roc_auc"] = 0.83
    del actual["brier"]
    actual["recall"] = 0.5
    assert reproduction.metric_mismatches(METRICS, actual, 1e-6) == [
        "brier: the PR reported 0.137902, the retrained model has none",
        "recall: the retrained model has 0.5, the PR reported none",
        "roc_auc: retrained 0.830000, the PR reported 0.842336",
    ]


def check(
    api: GitHubAPI, root: Path, *extra: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = run_env()
    env.update(api.client_env())
    env.update(
        {"GITHUB_REPOSITORY": REPO, "GITHUB_SHA": SHA, "GITHUB_STEP_SUMMARY": str(root / "sum")}
    )
    if token is not None:
        env["GITHUB_TOKEN"] = token
    return execute([str(VENV_BIN / "mlops"), "check-reproduction", *extra], root, env)


def test_check_reproduction_against_the_pr_report(checkout, github_api) -> None:
    # A direct push: no PR, nothing to compare, no failure.
    direct = check(github_api, checkout)
    assert direct.returncode == 0, direct.stderr
    assert f"no pull request is associated with {SHA[:12]}" in direct.stdout

    # The merged PR, with a comment that is not a report and a record posted by someone else
    # (not the workflow's token): neither is trusted.
    github_api.add_pull(REPO, 5, head_sha=SHA)
    github_api.add_issue_comment(REPO, 5, "LGTM")
    genuine = reproduction.record(checkout)
    forged = json.loads(json.dumps(genuine))
    forged["metrics"]["roc_auc"] = 0.99
    github_api.add_issue_comment(REPO, 5, reproduction.record_comment(forged), author="mallory")
    none = check(github_api, checkout)
    assert none.returncode == 0, none.stderr
    assert "PR #5 has no report record by github-actions[bot]" in none.stdout

    # The workflow's report comment: same inputs, same metrics.
    report = github_api.add_issue_comment(
        REPO, 5, "## ✅ report\n\n" + reproduction.record_comment(genuine)
    )
    ok = check(github_api, checkout)
    assert ok.returncode == 0, ok.stderr
    assert "all 4 metrics match PR #5's report (roc_auc 0.8423, f1 0.6173)" in ok.stdout
    assert "**Reproduction check**: all 4 metrics match" in (checkout / "sum").read_text()
    assert github_api.calls("GET", rf"/commits/{SHA}/pulls$")
    assert github_api.calls("GET", r"/issues/5/comments$")

    # The PR reported other metrics for the same inputs: the retrained model is not the PR's.
    report.body = "## ✅ report\n\n" + reproduction.record_comment(forged)
    bad = check(github_api, checkout)
    assert bad.returncode == 1
    assert "is not the one PR #5 reported" in bad.stderr
    assert "roc_auc: retrained 0.842336, the PR reported 0.990000" in bad.stderr
    assert "not deterministic on this runner" in bad.stderr
    assert bad.stdout == ""
    assert check(github_api, checkout, "--tolerance", "0.2").returncode == 0

    # Main moved on after the PR's last run: other inputs, so nothing is compared.
    report.body = "## ✅ report\n\n" + reproduction.record_comment(genuine)
    with_param(checkout, "prepare", "data", {"test_size": 0.5})
    (checkout / "metrics" / "evaluate.json").write_text(json.dumps({**METRICS, "roc_auc": 0.7}))
    moved = check(github_api, checkout)
    assert moved.returncode == 0, moved.stderr
    assert "PR #5's last report evaluated other inputs than" in moved.stdout
    assert "different: params.yaml:data)" in moved.stdout


def test_check_reproduction_errors_name_the_problem(checkout, github_api) -> None:
    denied = check(github_api, checkout, token="not-the-token")
    assert denied.returncode == 1
    assert "HTTP 401" in denied.stderr and f"/commits/{SHA}/pulls" in denied.stderr
    missing = check(github_api, checkout, token="")
    assert missing.returncode == 1 and "GITHUB_TOKEN is not set" in missing.stderr
    (checkout / "metrics" / "evaluate.json").unlink()
    no_metrics = check(github_api, checkout)
    assert no_metrics.returncode == 1
    assert "metrics/evaluate.json not found" in no_metrics.stderr
