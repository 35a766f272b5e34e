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

from mlops.ci import reproduction, store_chain

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
from ..github_api import drop_model_files, truncate_db, zip_folder

pytestmark = pytest.mark.slow

TRAIN = "PR/validate, train, report"
IMAGE_JOB = "publish/Publish the image/containerize, smoke-test, push"
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


def test_deploy_then_retrain_with_a_tracking_server(origin, github_api, mlflow_url, trained,
                                                    tmp_path):  # fmt: skip
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
    # With a tracking server the registry is there: no artifact chain is restored or saved.
    assert "a tracking server is configured (http://127.0.0.1:" in deploy.log
    assert not (deploy.artifacts / "mlflow-store").exists()
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
    assert deploy.succeeded(IMAGE_JOB, "Import the bento"), deploy.log[-6000:]
    assert deploy.failed(IMAGE_JOB, "Containerize")
    assert not deploy.ran(IMAGE_JOB, "Push")

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
    # Rolling back is the same `mlops rollback` with either registry: the zero-configuration
    # chain test below runs rollback.yml (tests/tracking/test_registry.py: against a server).


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


# --- the zero-configuration registry: a chain of mlflow-store artifacts -------------------------

DEPLOY_JOB = "Deploy/reproduce, register, promote, bento"
RETRAIN_JOB = "Retrain/retrain, register, promote, bento"
ROLLBACK_JOB = "Rollback/move champion back, bento"
RESTORE = "Restore the production MLflow store (zero configuration)"
KEEP = store_chain.STORE_STEP


def store_run(api, workflow: str, event: str, job: str, conclusion: str, kept: str, **where):
    """A finished run in the double whose registering ``job`` (act's "Workflow/job" name)
    concluded ``conclusion``, its store step ``kept``."""
    steps = [{"name": RESTORE, "conclusion": "success"}, {"name": KEEP, "conclusion": kept}]
    jobs = [{"name": job.split("/", 1)[1], "conclusion": conclusion, "steps": steps}]
    return api.add_run(OWNER_REPO, workflow, event, jobs, **where)


def hand_on(api, result, workflow: str, event: str, job: str, sha: str):
    """What GitHub would hold after this act run: the run, its registering job (conclusion and
    the store step's) and, when the job uploaded it, its mlflow-store artifact."""
    conclusion = result.job_result(job) or "failure"
    kept = "success" if result.succeeded(job, KEEP) else "skipped"
    run_ = store_run(api, workflow, event, job, conclusion, kept, head_sha=sha)
    folder = result.artifacts / "mlflow-store"
    if folder.is_dir():
        api.add_artifact(run_, "mlflow-store", zip_folder(folder))
    return run_


def manifest(result) -> dict:
    return json.loads((result.artifacts / "mlflow-store" / "mlflow-store.json").read_text())


def version_tag(result, version: str, key: str) -> str | None:
    import sqlite3

    db = result.artifacts / "mlflow-store" / "mlflow.db"
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT value FROM model_version_tags WHERE version = ? AND key = ?", (version, key)
        ).fetchone()
    return None if row is None else str(row[0])


def test_zero_configuration_registry_chain(origin, github_api, tmp_path):
    """No MLFLOW_TRACKING_URI: the production workflows hand the MLflow store on as artifacts.

    Merge A (v1, champion) → a PR compares with champion v1 → a PR run's and a failed deploy's
    newer stores are ignored → merge B, worse (v2, not promoted, loses to v1) → merge C (v3,
    promoted over v1) → rollback (champion v1 again, its bento) → a damaged store (truncated
    SQLite; then a missing model file) fails the job before anything is registered."""
    owner, name = OWNER_REPO.split("/")
    repository = {"full_name": OWNER_REPO, "name": name, "owner": {"login": owner}}

    def deploy(sha: str, label: str):
        payload = {"ref": "refs/heads/main", "after": sha, "repository": repository}
        return act(origin, tmp_path / label, github_api, event="push", workflow="deploy.yml",
                   payload=payload)  # fmt: skip

    def dispatch(workflow: str, label: str, inputs: dict):
        payload = {"inputs": inputs, "ref": "refs/heads/main", "repository": repository}
        return act(origin, tmp_path / label, github_api, event="workflow_dispatch",
                   workflow=workflow, payload=payload)  # fmt: skip

    # 1. Merge A: the first production run starts a fresh store; v1 becomes the champion.
    sha_a = run(["git", "rev-parse", "HEAD"], origin).stdout.strip()
    merge_a = deploy(sha_a, "merge-a")
    assert merge_a.succeeded(DEPLOY_JOB, KEEP), merge_a.log[-6000:]
    summary_a = merge_a.summary(DEPLOY_JOB)
    assert "started a fresh MLflow store: no trusted mlflow-store artifact" in summary_a
    assert "retention-days" in summary_a
    assert manifest(merge_a)["aliases"] == {"challenger": "1", "champion": "1"}
    assert manifest(merge_a)["continued_from"] is None
    # No Docker engine: the image job fails, which must not cost the registered version.
    assert merge_a.failed(IMAGE_JOB, "Containerize")
    run_a = hand_on(github_api, merge_a, "deploy.yml", "push", DEPLOY_JOB, sha_a)

    # 2. A same-repository PR after merge A: its report's baseline is champion v1.
    base, head = lower_c(origin, "lower C")
    pr = pr_run(origin, github_api, tmp_path / "pr", base, head)
    assert pr.succeeded(TRAIN, "Report (candidate vs main)"), pr.log[-6000:]
    (comment,) = pr_comments(github_api)
    assert "**Baseline:** champion v1 @ " in comment.body, comment.body[:3000]
    assert f"the production registry store of run {run_a.id}, deploy.yml" in comment.body
    run(["git", "checkout", "-q", "main"], origin)

    # 3. Newer stores from untrusted runs: a PR's, and a deploy whose registering job failed.
    good = zip_folder(merge_a.artifacts / "mlflow-store")
    pr_store = store_run(github_api, "pr.yml", "pull_request", TRAIN, "success", "success",
                         head_branch="feature")  # fmt: skip
    github_api.add_artifact(pr_store, "mlflow-store", good)
    failed = store_run(github_api, "deploy.yml", "push", DEPLOY_JOB, "failure", "success")
    github_api.add_artifact(failed, "mlflow-store", good)

    # Merge B, a worse model (a single stump): v2 registered, not promoted, loses to v1.
    set_param(origin, "type: logreg", "type: rf")
    set_param(origin, "n_estimators: 300", "n_estimators: 1")
    set_param(origin, "max_depth: 10", "max_depth: 1")
    sha_b = commit(origin, "merge B: a single stump")
    merge_b = deploy(sha_b, "merge-b")
    assert merge_b.succeeded(DEPLOY_JOB, "Promote"), merge_b.log[-6000:]
    log_b = merge_b.job_text(DEPLOY_JOB)
    assert "branch 'feature', not 'main'" in log_b
    assert f"registering job '{DEPLOY_JOB.split('/')[1]}' did not succeed (failure)" in log_b
    summary_b = merge_b.summary(DEPLOY_JOB)
    assert f"restored the store of [run {run_a.id}]" in summary_b
    assert "version 2 not promoted: it lost to champion v1, which stays the champion" in summary_b
    assert not merge_b.ran(DEPLOY_JOB, "Build the bento from the champion")
    assert merge_b.step_lines(IMAGE_JOB) == []
    assert manifest(merge_b)["aliases"] == {"challenger": "2", "champion": "1"}
    assert manifest(merge_b)["continued_from"]["run_id"] == run_a.id
    run_b = hand_on(github_api, merge_b, "deploy.yml", "push", DEPLOY_JOB, sha_b)

    # Merge C, a good model again: v3 promoted over v1, which it records.
    set_param(origin, "type: rf", "type: logreg")
    sha_c = commit(origin, "merge C: back to the logistic regression")
    merge_c = deploy(sha_c, "merge-c")
    assert merge_c.succeeded(DEPLOY_JOB, "Build the bento from the champion"), merge_c.log[-6000:]
    assert f"restored the store of [run {run_b.id}]" in merge_c.summary(DEPLOY_JOB)
    assert manifest(merge_c)["aliases"] == {"challenger": "3", "champion": "3"}
    assert version_tag(merge_c, "3", "previous_champion") == "1"
    run_c = hand_on(github_api, merge_c, "deploy.yml", "push", DEPLOY_JOB, sha_c)

    # 4. Rollback with no input: champion back to v1, the previous champion; its bento.
    rollback = dispatch("rollback.yml", "rollback", {"version": ""})
    assert rollback.succeeded(ROLLBACK_JOB, KEEP), rollback.log[-6000:]
    assert f"restored the store of [run {run_c.id}]" in rollback.summary(ROLLBACK_JOB)
    assert manifest(rollback)["aliases"] == {"challenger": "3", "champion": "1"}
    assert "importing churn-classifier v1 into BentoML" in rollback.job_text(ROLLBACK_JOB)
    assert (rollback.artifacts / "bento" / "churn-service.bento").stat().st_size > 0
    hand_on(github_api, rollback, "rollback.yml", "workflow_dispatch", ROLLBACK_JOB, sha_c)
    latest = rollback.artifacts / "mlflow-store"

    # 5. A damaged store, the newest trusted one: the job fails before registering.
    for damage, workflow, job, inputs, problem in (
        (truncate_db, "retrain.yml", RETRAIN_JOB, {"reason": "r", "force": False, "promote": True},
         "mlflow.db is not a sound SQLite database"),
        (drop_model_files, "rollback.yml", ROLLBACK_JOB, {"version": ""},
         "alias 'champion' (v1): model 'churn-classifier' v1 holds no model.joblib"),
    ):  # fmt: skip
        bad = store_run(github_api, "deploy.yml", "push", DEPLOY_JOB, "success", "success")
        github_api.add_artifact(bad, "mlflow-store", zip_folder(latest, damage))
        broken = dispatch(workflow, f"damaged-{workflow}", inputs)
        assert broken.returncode != 0
        assert broken.failed(job, RESTORE), broken.log[-6000:]
        text = broken.job_text(job)
        assert f"the registry store of run {bad.id} (deploy.yml" in text and problem in text, text
        assert not broken.ran(job, "Register") and not broken.ran(job, KEEP)
        assert "`fresh_registry`" in broken.summary(job)
