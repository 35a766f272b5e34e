"""What the act scenarios share (tests/workflows/test_act_*.py): the jobs' names, the change a
PR brings, running pr.yml, and handing a production run's store on to the next run (the
GitHub API double then holds it as GitHub would: docs/testing.md#adding-an-act-scenario).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from mlops.ci import store_chain

from ..act_harness import OWNER_REPO, act, commit, pull_request_event
from ..conftest import run
from ..github_api import zip_folder

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


def registry_client(url: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=url, registry_uri=url)


# --- the zero-configuration registry: a chain of mlflow-store artifacts ----------------------

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


FORGE = """
import joblib, pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline
from mlops.core.config import load_params
from mlops.threshold import ThresholdedModel
params = load_params()
train = pd.read_parquet("data/prepared/train.parquet")
x, y = train[params.features.used], train["target"]
constant = Pipeline([("model", DummyClassifier(strategy="prior"))]).fit(x, y)
joblib.dump(ThresholdedModel(constant, 0.5).fit(x, y), "models/model.joblib")
"""


@dataclass
class Forgery:
    honest_md5: str  # the model the pipeline trains from these inputs
    honest_record: dict  # its report record (what the PR's comment would carry)
    forged_md5: str  # the constant model the forged run-cache entry points at


def forge_train_run_cache(repo: Path, remote: Path, tmp: Path) -> Forgery:
    """What a PR's job holding the DVC remote's credentials can do: for exactly ``repo``'s
    train inputs (those another branch has after its merge), a run-cache entry pointing at a
    model that predicts a constant, pushed to ``remote``; the honest pipeline is run first."""
    from mlops.ci import reproduction
    from mlops.core.artifacts import file_md5

    attacker = tmp / "attacker"
    run(["git", "clone", "-q", str(repo), str(attacker)], tmp)
    run(["dvc", "remote", "modify", "--local", "outputs", "url", str(remote)], attacker)
    run(["dvc", "pull", "data.dvc"], attacker)
    run(["dvc", "repro"], attacker)
    model = attacker / "models" / "model.joblib"
    honest = (file_md5(model), reproduction.record(attacker))
    run([sys.executable, "-c", FORGE], attacker)
    run(["dvc", "commit", "--force", "train"], attacker)  # a run-cache entry for these inputs
    run(["dvc", "push", "--run-cache"], attacker)
    return Forgery(honest_md5=honest[0], honest_record=honest[1], forged_md5=file_md5(model))
