"""The GitHub workflows, run end to end with nektos/act in host mode (tests/act_harness.py).

Each test builds a repository (a copy of this checkout, then the change a PR or a merge would
bring), runs one workflow file for one event, and checks what it did: the comment the GitHub
API double recorded, the job summary, the artifacts, the MLflow registry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops.ci import reproduction

from ..act_harness import (
    OWNER_REPO,
    act,
    commit,
    local_repository_args,
    make_origin,
    pull_request_event,
    third_party_uses,
)
from ..conftest import run

pytestmark = pytest.mark.slow

TRAIN = "PR/validate, train, report"
WATERMARK = "CML watermark mlops report"


def set_param(repo: Path, old: str, new: str) -> None:
    params = repo / "params.yaml"
    text = params.read_text()
    assert old in text
    params.write_text(text.replace(old, new, 1))


def feature_branch(repo: Path) -> str:
    base = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    run(["git", "checkout", "-q", "-b", "feature"], repo)
    return base


def pr_comments(api) -> list:
    return api.issue_comments(OWNER_REPO, 7)


def lower_c(origin: Path, message: str = "lower C") -> tuple[str, str]:
    """A feature branch whose one commit lowers model.logreg.C: (base, head) SHAs."""
    base = feature_branch(origin)
    set_param(origin, "C: 1.0", "C: 0.5")
    return base, commit(origin, message)


def pr_run(origin, api, workdir: Path, base: str, head: str, *, fork: bool = False, **kwargs):
    """Run pr.yml for PR #7 from ``base`` to ``head`` (``kwargs``: act's variables, env, ...)."""
    payload = pull_request_event(7, base, head, fork=fork)
    return act(origin, workdir, api, event="pull_request", workflow="pr.yml", payload=payload,
               **kwargs)  # fmt: skip


@pytest.fixture
def origin(tmp_path, github_api) -> Path:
    return make_origin(tmp_path / "repo", github_api)


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


@pytest.fixture
def mlflow_url(tmp_path) -> Iterator[str]:
    from ..servers import mlflow_server

    with mlflow_server(tmp_path / "mlflow") as url:
        yield url


def registry_client(url: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=url, registry_uri=url)


def test_deploy_then_retrain_then_rollback(origin, github_api, mlflow_url, trained, tmp_path):
    variables = {"MLFLOW_TRACKING_URI": mlflow_url}
    owner, name = OWNER_REPO.split("/")
    repository = {"full_name": OWNER_REPO, "name": name, "owner": {"login": owner}}
    sha1 = run(["git", "rev-parse", "HEAD"], origin).stdout.strip()
    # The merged PR and its report comment, whose record is that of this very pipeline (the
    # `trained` copy ran it): the deploy job retrains (no run-cache) and must match it.
    github_api.add_pull(OWNER_REPO, 9, head_sha=sha1)
    body = "## report\n\n" + reproduction.record_comment(reproduction.record(trained))
    github_api.add_issue_comment(OWNER_REPO, 9, body)

    # 1. push to main: reproduce, register, promote, bento; the image job as far as it goes.
    deploy = act(
        origin,
        tmp_path / "deploy",
        github_api,
        event="push",
        workflow="deploy.yml",
        payload={"ref": "refs/heads/main", "after": sha1, "repository": repository},
        variables=variables,
    )
    for step in (
        "Reproduce",
        "Check the metrics match the PR's report (before anything is registered)",
        "Register",
        "Promote",
        "Build the bento from the champion",
        "Export the bento",
    ):
        assert deploy.succeeded("Deploy/reproduce, register, promote, bento", step), (
            step,
            deploy.log[-6000:],
        )
    assert "all 8 metrics match PR #9's report" in deploy.log
    assert "Reproduction check" in deploy.summary("Deploy/reproduce, register, promote, bento")
    client = registry_client(mlflow_url)
    champion = client.get_model_version_by_alias("churn-classifier", "champion")
    assert champion.tags["git_commit"] == sha1
    assert "challenger" in champion.aliases
    bento = deploy.artifacts / "bento"
    assert (bento / "churn-service.bento").stat().st_size > 0
    record = json.loads((bento / "record.json").read_text())
    assert "contract" in record and "churn" not in record
    assert "Model registry" in deploy.summary("Deploy/reproduce, register, promote, bento")
    # No Docker engine here: the image job imports the bento, then containerizing fails.
    image_job = "publish/Publish the image/containerize, smoke-test, push"
    assert deploy.succeeded(image_job, "Import the bento"), deploy.log[-6000:]
    assert deploy.failed(image_job, "Containerize")
    assert not deploy.ran(image_job, "Push")

    # 2. workflow_dispatch retrain on a new commit, forced, promoted.
    (origin / "README.md").write_text((origin / "README.md").read_text() + "\nRetrain.\n")
    sha2 = commit(origin, "a new commit to retrain at")
    retrain = act(
        origin,
        tmp_path / "retrain",
        github_api,
        event="workflow_dispatch",
        workflow="retrain.yml",
        payload={
            "inputs": {"reason": "monthly refresh", "force": True, "promote": True},
            "ref": "refs/heads/main",
            "repository": repository,
        },
        variables=variables,
    )
    job = "Retrain/retrain, register, promote, bento"
    assert retrain.succeeded(job, "Reproduce every stage (force)"), retrain.log[-6000:]
    assert not retrain.ran(job, "Reproduce")
    assert retrain.succeeded(job, "Promote")
    champion2 = client.get_model_version_by_alias("churn-classifier", "champion")
    assert champion2.tags["git_commit"] == sha2
    assert int(champion2.version) > int(champion.version)

    # 3. rollback dispatch: champion goes back to the first version.
    rollback = act(
        origin,
        tmp_path / "rollback",
        github_api,
        event="workflow_dispatch",
        workflow="rollback.yml",
        payload={"inputs": {"version": ""}, "ref": "refs/heads/main", "repository": repository},
        variables=variables,
    )
    job = "Rollback/move champion back, bento"
    assert rollback.succeeded(job, "Roll back to the previous champion"), rollback.log[-6000:]
    assert not rollback.ran(job, "Roll back to the given version")
    restored = client.get_model_version_by_alias("churn-classifier", "champion")
    assert restored.version == champion.version
    assert rollback.succeeded(job, "Build the bento from the champion")


def test_batch_scoring_with_zero_configuration(origin, github_api, demo_csv, tmp_path):
    """batch.yml on the defaults: no tracking server, so model `auto` reproduces the pipeline's
    model; the demo data is pulled from the embedded DVC remote, scored and uploaded."""
    import pyarrow.parquet as pq

    owner, name = OWNER_REPO.split("/")
    repository = {"full_name": OWNER_REPO, "name": name, "owner": {"login": owner}}
    batch = act(
        origin,
        tmp_path / "batch",
        github_api,
        event="workflow_dispatch",
        workflow="batch.yml",
        payload={
            "inputs": {"input": "data/raw/churn.csv", "model": "auto"},
            "ref": "refs/heads/main",
            "repository": repository,
        },
    )
    job = "Batch scoring/validate, score, upload"
    assert batch.succeeded(job, "Score"), batch.log[-6000:]
    assert batch.succeeded(job, "Reproduce the pipeline's model (no tracking server)")
    scores = next(batch.artifacts.rglob("scores.parquet"))
    summary = json.loads(next(batch.artifacts.rglob("scores.summary.json")).read_text())
    rows = sum(1 for _ in demo_csv.open()) - 1
    assert pq.ParquetFile(scores).metadata.num_rows == rows == summary["rows"] == 7043
    assert summary["model"]["source"] == "models/model.joblib (the registry has no champion)"
    text = batch.summary(job)
    assert "### Batch scoring" in text and "| rows | 7,043 |" in text, text
