"""deploy.yml and retrain.yml with a tracking server, and batch.yml on the defaults, run end to
end with nektos/act in host mode (tests/act_harness.py)."""

from __future__ import annotations

import json

import pytest

from mlops.ci import reproduction

from ..act_harness import OWNER_REPO, act, commit
from ..conftest import run
from .scenarios import IMAGE_JOB, forge_train_run_cache, registry_client, set_param

pytestmark = pytest.mark.slow


def test_deploy_then_retrain_with_a_tracking_server(origin, github_api, mlflow_url, tmp_path):
    variables = {"MLFLOW_TRACKING_URI": mlflow_url}
    owner, name = OWNER_REPO.split("/")
    repository = {"full_name": OWNER_REPO, "name": name, "owner": {"login": owner}}
    # The merge: a changed param, dvc.lock not re-locked (merges leave it so), and the team's
    # shared DVC outputs remote, into which another PR's job pushed a forged run-cache entry
    # for exactly these inputs (a constant model): docs/hardening.md.
    remote = tmp_path / "shared-remote"
    run(["dvc", "remote", "modify", "outputs", "url", str(remote)], origin)
    set_param(origin, "    C: 1.0\n", "    C: 0.5\n")
    sha1 = commit(origin, "merge: C 0.5")
    forgery = forge_train_run_cache(origin, remote, tmp_path)
    # The merged PR and its report comment, whose record is that of the honest pipeline: the
    # deploy job trains the model itself and must match it.
    github_api.add_pull(OWNER_REPO, 9, head_sha=sha1)
    body = "## report\n\n" + reproduction.record_comment(forgery.honest_record)
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
    # The model it trained itself, never the forged entry's.
    assert champion.tags["model_md5"] == forgery.honest_md5 != forgery.forged_md5
    assert "challenger" in champion.aliases
    bento = deploy.artifacts / "bento"
    assert (bento / "service.bento").stat().st_size > 0
    record = json.loads((bento / "record.json").read_text())
    assert "contract" in record and "churn" not in record
    assert "Model registry" in deploy.summary("Deploy/reproduce, register, promote, bento")
    # No Docker engine here: the image job imports the bento, then containerizing fails.
    assert "imported build/export/service.bento" in deploy.log, deploy.log[-6000:]
    assert deploy.failed(IMAGE_JOB, "Import the bento and containerize it")
    assert not deploy.ran(IMAGE_JOB, "Push")

    # 2. workflow_dispatch retrain on a new commit (another C: a different model), forced,
    # promoted. (A retrain of the same model registers nothing: tests/tracking.)
    set_param(origin, "    C: 0.5\n", "    C: 0.25\n")
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
            "inputs": {"model": "auto"},  # no input: params.yaml's data.path
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
