"""pr.yml, run end to end with nektos/act in host mode (tests/act_harness.py): the one comment
and its update, a fork's PR, a Keras PR, CML that cannot be set up, the GPU health check, a PR
that touches no pipeline input and one whose data fails validation.

Each test builds a repository (a copy of this checkout, then the change a PR would bring), runs
pr.yml for one event, and checks what it did: the comment the GitHub API double recorded, the
job summary, the artifacts.
"""

from __future__ import annotations

import re

import pytest

from mlops.ci import reproduction

from ..act_harness import commit, local_repository_args, third_party_uses
from ..conftest import run
from .scenarios import (
    TRAIN,
    WATERMARK,
    feature_branch,
    lower_c,
    pr_comments,
    pr_run,
    set_param,
)

pytestmark = pytest.mark.slow


def test_every_third_party_action_has_a_local_stand_in():
    # local_repository_args raises for a `uses:` that act would have to fetch.
    args = local_repository_args()
    served = {a.split("=", 1)[0] for a in args[1::2]}
    assert served == {u for u in third_party_uses() if not u.startswith("actions/checkout@")}
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in third_party_uses())


def test_same_repo_pr_posts_one_comment_and_updates_it(origin, github_api, tmp_path):
    base, head = lower_c(origin, "lower C")
    first = pr_run(
        origin,
        github_api,
        tmp_path / "run1",
        base,
        head,
        variables={"TRAIN_RUNNER": '["self-hosted"]'},
    )
    assert first.returncode == 0, first.log[-6000:]
    for step in (
        "Validate the data",
        "Reproduce the pipeline",
        "Report (candidate vs main)",
        "Post or update the PR comment",
        "Gate",
    ):
        assert first.succeeded(TRAIN, step), step
    assert first.job_result("PR/pr-check") == "success"
    assert not first.ran(TRAIN, "Why no comment was posted")
    # The pipeline install profile: no dev tools, no model-family extra for logreg on both sides.
    train_log = first.job_text(TRAIN)
    assert "uv sync --frozen --no-dev" in train_log and "--all-extras" not in train_log
    assert "extras: model.type logreg (params.yaml), logreg (" in train_log
    assert re.search(r"\+ pandas==", train_log)  # (the check sees uv's package lines)
    assert not re.search(r"\+ (tensorflow|xgboost|pytest|ruff)==", train_log)
    (comment,) = pr_comments(github_api)
    first_body = comment.body  # the double updates its Comment objects in place
    assert WATERMARK in comment.body
    # pr.yml passes the base commit's SHA; the comment names it by the base branch.
    assert comment.body.startswith("## ✅ Quality gate passed: this PR vs main\n"), comment.body
    assert f"**Baseline:** main @ `{base[:12]}`" in comment.body and base not in comment.body
    assert "roc_auc" in comment.body.lower() or "ROC" in comment.body
    (record,) = reproduction.parse_records(comment.body)  # what a merge is checked against
    assert record["metrics"]["roc_auc"] > 0.5 and "params.yaml:model.logreg" in record["inputs"]
    assert (first.artifacts / "pr-report" / "report.md").is_file()
    assert (first.artifacts / "pr-report" / "reports" / "data_docs").is_dir()

    # A second push, now a worse model (a single decision stump): the same comment is updated
    # with the new report, then the gate fails the job.
    set_param(origin, "type: logreg", "type: rf")
    set_param(origin, "n_estimators: 300", "n_estimators: 1")
    set_param(origin, "max_depth: 10", "max_depth: 1")
    head2 = commit(origin, "a single stump")
    second = pr_run(
        origin,
        github_api,
        tmp_path / "run2",
        base,
        head2,
        variables={"TRAIN_RUNNER": '["self-hosted"]'},
    )
    assert second.returncode != 0
    assert second.succeeded(TRAIN, "Post or update the PR comment"), second.log[-6000:]
    assert second.failed(TRAIN, "Gate")
    assert re.search(r"mlops gate: error: .*roc_auc", second.log), second.log[-4000:]
    assert second.job_result("PR/pr-check") == "failure"
    (updated,) = pr_comments(github_api)
    assert updated.id == comment.id
    assert github_api.calls("PATCH", rf"/issues/comments/{comment.id}$")
    assert len(github_api.calls("POST", r"/issues/7/comments$")) == 1
    assert updated.body != first_body and "`rf`" in updated.body and WATERMARK in updated.body


def test_fork_pr_runs_on_github_hosted_and_reports_to_the_job_summary(origin, github_api, tmp_path):
    base, head = lower_c(origin, "lower C (from a fork)")
    # The repository asks for the GPU runner, but act maps only the GitHub-hosted label: a job
    # that tried the self-hosted runner would not run at all.
    result = pr_run(
        origin,
        github_api,
        tmp_path / "run",
        base,
        head,
        fork=True,
        variables={"TRAIN_RUNNER": '["self-hosted","gpu"]'},
        platforms=("ubuntu-latest",),
    )
    assert result.returncode == 0, result.log[-6000:]
    assert result.succeeded(TRAIN, "Reproduce the pipeline")
    assert result.succeeded(TRAIN, "Report (candidate vs main)")
    assert not result.ran(TRAIN, "GPU health check")
    assert not result.ran(TRAIN, "Post or update the PR comment")
    assert not result.ran(TRAIN, "Put the stand-in cml on PATH")
    assert github_api.calls("POST") == [] and github_api.calls("PATCH") == []
    summary = result.summary(TRAIN)
    assert "roc_auc" in summary.lower() or "ROC" in summary, summary[:2000]
    assert result.job_result("PR/pr-check") == "success"


def test_a_keras_pr_installs_tensorflow_and_trains(origin, github_api, tmp_path):
    base = feature_branch(origin)
    set_param(origin, "type: logreg", "type: keras")
    set_param(origin, "max_epochs: 60", "max_epochs: 3")
    head = commit(origin, "a Keras MLP")
    result = pr_run(origin, github_api, tmp_path / "run", base, head)
    train_log = result.job_text(TRAIN)
    assert "extras: model.type keras (params.yaml), logreg (" in train_log, result.log[-6000:]
    assert re.search(r"\+ tensorflow==", train_log)  # the keras extra, and only it
    assert re.search(r"\+ pandas==", train_log)  # (the check sees uv's package lines)
    assert not re.search(r"\+ (xgboost|pytest)==", train_log)
    assert result.succeeded(TRAIN, "Reproduce the pipeline"), result.log[-6000:]
    assert result.succeeded(TRAIN, "Report (candidate vs main)")
    (comment,) = pr_comments(github_api)
    assert "**Model:** `keras` (main: `logreg`)" in comment.body


def test_pr_whose_cml_setup_fails_reports_to_the_summary_and_says_why(origin, github_api, tmp_path):
    base, head = lower_c(origin, "lower C")
    result = pr_run(
        origin,
        github_api,
        tmp_path / "run",
        base,
        head,
        env={"STANDIN_SETUP_CML_FAIL": "API rate limit exceeded for 203.0.113.7"},
    )
    assert result.returncode == 0, result.log[-6000:]
    assert result.failed(TRAIN, "Set up CML")
    assert not result.ran(TRAIN, "Post or update the PR comment")
    assert result.succeeded(TRAIN, "Why no comment was posted")
    assert result.succeeded(TRAIN, "Gate")  # the gate, not GitHub's API limit, decides
    assert result.job_result("PR/pr-check") == "success"
    assert github_api.calls("POST") == [] and github_api.calls("PATCH") == []
    summary = result.summary(TRAIN)
    assert "Quality gate passed: this PR vs main" in summary, summary[:2000]
    assert "**No PR comment**: No report comment was posted on the PR: setting up CML" in summary
    assert "No report comment was posted on the PR: setting up CML" in "\n".join(
        result.step_lines(TRAIN)
    )


def test_gpu_health_check_fails_without_a_gpu(origin, github_api, tmp_path):
    base, head = lower_c(origin, "lower C")
    result = pr_run(
        origin,
        github_api,
        tmp_path / "run",
        base,
        head,
        variables={"TRAIN_RUNNER": '["self-hosted","gpu"]'},
    )
    assert result.returncode != 0
    assert result.failed(TRAIN, "GPU health check")
    assert "nvidia-smi not found" in result.log
    assert not result.ran(TRAIN, "Pull the data")
    assert result.job_result("PR/pr-check") == "failure"


def test_pr_that_touches_no_pipeline_input_skips_training_and_passes(origin, github_api, tmp_path):
    base = feature_branch(origin)
    (origin / "README.md").write_text((origin / "README.md").read_text() + "\nA typo fix.\n")
    head = commit(origin, "docs only")
    result = pr_run(
        origin,
        github_api,
        tmp_path / "run",
        base,
        head,
    )
    assert result.returncode == 0, result.log[-6000:]
    assert "pipeline=false" in result.log
    assert result.step_lines(TRAIN) == []  # skipped
    assert result.job_result("PR/pr-check") == "success"
    assert pr_comments(github_api) == []


def test_pr_with_corrupted_data_fails_at_validation(origin, github_api, tmp_path):
    base = feature_branch(origin)
    run(["dvc", "pull", "-q", "data.dvc"], origin)
    csv = origin / "data" / "raw" / "churn.csv"
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    tenure = header.index("tenure")
    for i in range(1, 40):  # negative tenure: outside the suite's 0..108
        cells = lines[i].split(",")
        cells[tenure] = "-5"
        lines[i] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")
    run(["dvc", "add", "-q", "data/raw"], origin)
    run(["dvc", "push", "-q", "data.dvc"], origin)
    head = commit(origin, "corrupted data", "data-remote")
    result = pr_run(
        origin,
        github_api,
        tmp_path / "run",
        base,
        head,
    )
    assert result.returncode != 0
    assert result.failed(TRAIN, "Validate the data")
    assert not result.ran(TRAIN, "Reproduce the pipeline")
    assert not result.ran(TRAIN, "Gate")
    assert "tenure" in "\n".join(result.step_lines(TRAIN))
    assert result.job_result("PR/pr-check") == "failure"
    # The reviewer still gets the report: which expectations failed, no model comparison.
    assert result.ran(TRAIN, "Post or update the PR comment")
    comments = pr_comments(github_api)
    assert len(comments) == 1
    assert "the data did not pass validation" in comments[0].body
    assert "column 'tenure'" in comments[0].body
