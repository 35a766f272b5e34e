"""The zero-configuration registry, run end to end with nektos/act in host mode: the production
workflows hand the MLflow store on as a chain of mlflow-store artifacts."""

from __future__ import annotations

import pytest

from ..act_harness import OWNER_REPO, act, commit
from ..conftest import run
from ..github_api import drop_model_files, truncate_db, zip_folder
from .scenarios import (
    DEPLOY_JOB,
    IMAGE_JOB,
    KEEP,
    RESTORE,
    RETRAIN_JOB,
    ROLLBACK_JOB,
    TRAIN,
    hand_on,
    lower_c,
    manifest,
    pr_comments,
    pr_run,
    set_param,
    store_run,
    version_tag,
)

pytestmark = pytest.mark.slow


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
    assert merge_a.failed(IMAGE_JOB, "Import the bento and containerize it")
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
    assert (rollback.artifacts / "bento" / "service.bento").stat().st_size > 0
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
