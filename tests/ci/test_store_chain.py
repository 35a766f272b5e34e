"""The zero-configuration registry's chain of stores: which artifact is trusted (against API
payloads), the download through the REST API double, and save / restore / check of a real
MLflow store through the CLI, moved to another path, intact and damaged."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from mlops.ci import store_chain
from mlops.ci.github import GitHub
from mlops.core.errors import MlopsError

from ..conftest import execute, run_env
from ..github_api import GitHubAPI, drop_model_files, truncate_db, zip_files, zip_folder

PAYLOADS = json.loads((Path(__file__).parent / "payloads" / "store_chain.json").read_text())
REPO = PAYLOADS["repository"]
REGISTERING = "reproduce, register, promote, bento"
MODEL = "churn-classifier"


def good_jobs(conclusion: str = "success") -> list[dict]:
    steps = [{"name": "Register", "conclusion": "success"}]
    steps.append({"name": store_chain.STORE_STEP, "conclusion": conclusion})
    return [{"name": REGISTERING, "conclusion": conclusion, "steps": steps}]


# --- the rules, on payloads in GitHub's shapes --------------------------------------------------


@pytest.mark.parametrize("case", sorted(PAYLOADS["cases"]))
def test_judge_applies_each_rule(case):
    given = PAYLOADS["cases"][case]
    artifact, run_, jobs = given["artifact"], given["run"], given["jobs"]["jobs"]
    reason = store_chain.judge(artifact, None, None, REPO)
    if reason is None:
        reason = store_chain.judge(artifact, run_, None, REPO)
    if reason is None:
        reason = store_chain.judge(artifact, run_, jobs, REPO)
    if given["refused"] is None:
        assert reason is None
    else:
        assert reason is not None and given["refused"] in reason, reason


def test_every_production_workflow_file_exists_and_keeps_the_store_in_one_job():
    import yaml

    from ..conftest import REPO_ROOT

    for path in store_chain.PRODUCTION_WORKFLOWS:
        doc = yaml.safe_load((REPO_ROOT / path).read_text())
        triggers = set(doc[True])  # YAML 1.1 reads the key `on` as True
        assert triggers <= set(store_chain.TRUSTED_EVENTS), (path, triggers)
        keeping = [
            job
            for job in doc["jobs"].values()
            if any(s.get("name") == store_chain.STORE_STEP for s in job.get("steps") or [])
        ]
        assert len(keeping) == 1, path
        (job,) = keeping
        assert job["permissions"].get("actions") == "read", path
        restore = [s for s in job["steps"] if "mlops registry restore" in str(s.get("run"))]
        assert restore and restore[0]["env"]["GITHUB_TOKEN"] == "${{ github.token }}", path


# --- selection and download through the API double ----------------------------------------------


def test_select_takes_the_newest_trusted_store_and_says_why_it_passed_over_others(github_api):
    good = github_api.add_run(REPO, "deploy.yml", "push", good_jobs())
    github_api.add_artifact(good, "mlflow-store", b"", created_at="2026-11-20T10:00:00Z")
    newer_good = github_api.add_run(REPO, "retrain.yml", "workflow_dispatch", good_jobs())
    wanted = github_api.add_artifact(
        newer_good, "mlflow-store", b"", created_at="2026-11-21T10:00:00Z"
    )
    pr = github_api.add_run(REPO, "pr.yml", "pull_request", good_jobs(), head_branch="feature")
    github_api.add_artifact(pr, "mlflow-store", b"", created_at="2026-11-22T10:00:00Z")
    failed = github_api.add_run(REPO, "deploy.yml", "push", good_jobs("failure"))
    github_api.add_artifact(failed, "mlflow-store", b"", created_at="2026-11-23T10:00:00Z")
    other_name = github_api.add_run(REPO, "deploy.yml", "push", good_jobs())
    github_api.add_artifact(other_name, "bento", b"", created_at="2026-11-24T10:00:00Z")

    github = GitHub(github_api.api_url, REPO, github_api.token)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSL_CERT_FILE", str(github_api.ca_path))
        selection = store_chain.select(github)
    assert selection.choice is not None
    assert selection.choice.artifact_id == wanted.id
    assert selection.choice.workflow == ".github/workflows/retrain.yml"
    newest, older = selection.passed_over  # newest first
    assert f"registering job '{REGISTERING}' did not succeed (failure)" in newest
    assert "branch 'feature'" in older
    assert github_api.calls("GET", r"/actions/artifacts$")[0].query["name"] == ["mlflow-store"]


def test_download_follows_the_redirect_without_the_token(github_api, tmp_path):
    store_run = github_api.add_run(REPO, "deploy.yml", "push", good_jobs())
    data = zip_files({"mlflow.db": b"x", "mlruns/1/meta.yaml": b"y"})
    artifact = github_api.add_artifact(store_run, "mlflow-store", data)
    github = GitHub(github_api.api_url, REPO, github_api.token)
    choice = store_chain.Choice(artifact.id, store_run.id, "deploy.yml", "push", "", "", "")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSL_CERT_FILE", str(github_api.ca_path))
        dest = store_chain.download(github, choice, tmp_path / "store")
    assert (dest / "mlruns" / "1" / "meta.yaml").read_bytes() == b"y"
    (api_call,) = github_api.calls("GET", r"/zip$")
    (blob_call,) = github_api.calls("GET", r"^/blobs/")
    assert api_call.status == 302 and "authorization" in api_call.headers
    assert blob_call.status == 200 and "authorization" not in blob_call.headers


def test_extract_refuses_a_member_outside_the_store(tmp_path):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(zip_files({"../outside.txt": b"boo"}))
    with pytest.raises(MlopsError, match="points outside the store"):
        store_chain.extract(archive, tmp_path / "store")
    assert not (tmp_path / "outside.txt").exists()


@pytest.mark.parametrize(
    ("location", "moved"),
    [
        ("/home/runner/work/c/c/mlruns/1/abc/artifacts", "/new/repo/mlruns/1/abc/artifacts"),
        ("file:///srv/x/mlruns/1/m-1/artifacts", "file:///new/repo/mlruns/1/m-1/artifacts"),
        ("/old/mlartifacts/2/def", "/new/repo/mlartifacts/2/def"),
        ("/old/mlruns", "/new/repo/mlruns"),
        ("/mlruns/home/repo/mlruns/0", "/new/repo/mlruns/0"),  # the last artifact folder
        ("/new/repo/mlruns/0", None),  # already there
        ("models:/m-123", None),  # not a local path
        ("s3://bucket/mlruns/1", None),
        ("/home/runner/elsewhere/0", None),
    ],
)  # fmt: skip
def test_relocate_moves_local_artifact_locations_only(location, moved):
    from mlops.tracking.store import relocate

    assert relocate(location, "/new/repo") == moved


# --- save, restore and check a real store through the CLI --------------------------------------


def mlops(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return execute(["mlops", *args], repo, {**run_env(), **(env or {})}, timeout=600)


def actions_env(api: GitHubAPI, repo: Path) -> dict[str, str]:
    return {
        **api.client_env(),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_STEP_SUMMARY": str(repo / "summary.md"),
        "GITHUB_OUTPUT": str(repo / "output.txt"),
    }


def without_store(trained: Path, dest: Path) -> Path:
    """A copy of the trained checkout (at ``dest``) with no local MLflow store."""
    shutil.copytree(trained, dest, symlinks=True)
    for name in ("mlflow.db", "mlruns", "mlartifacts"):
        path = dest / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    return dest


@pytest.fixture(scope="module")
def saved_store(trained, tmp_path_factory) -> tuple[Path, dict]:
    """A repository copy that registered and promoted its model in the local SQLite store,
    and the store `mlops registry save` made of it (the artifact's content)."""
    repo = without_store(trained, tmp_path_factory.mktemp("producer") / "repo")
    for args in (["register"], ["promote"], ["registry", "save"]):
        proc = mlops(repo, *args)
        assert proc.returncode == 0, proc.stderr
    export = repo / "build" / "mlflow-store"
    manifest = json.loads((export / "mlflow-store.json").read_text())
    return export, manifest


def publish(api: GitHubAPI, export: Path, *, damage=None) -> None:
    """Upload ``export`` as a trusted deploy run's mlflow-store artifact (``damage`` edits a
    copy first)."""
    store_run = api.add_run(REPO, "deploy.yml", "push", good_jobs(), head_sha="a" * 40)
    api.add_artifact(store_run, "mlflow-store", zip_folder(export, damage))


@pytest.mark.slow
def test_save_then_restore_at_another_path(saved_store, trained, github_api, tmp_path):
    export, manifest = saved_store
    assert manifest["aliases"] == {"challenger": "1", "champion": "1"}
    assert manifest["continued_from"] is None
    publish(github_api, export)
    repo = without_store(trained, tmp_path / "elsewhere" / "repo")
    env = actions_env(github_api, repo)

    restored = mlops(repo, "registry", "restore", env=env)
    assert restored.returncode == 0, restored.stderr
    summary = (repo / "summary.md").read_text()
    assert "restored the store of [run" in summary and "champion v1" in summary
    # The artifact locations now point into this checkout, and the champion loads from it.
    with sqlite3.connect(repo / "mlflow.db") as conn:
        uris = [row[0] for row in conn.execute("SELECT artifact_uri FROM runs")]
    assert uris and all(u.startswith(str(repo.resolve())) for u in uris), uris
    record = json.loads((repo / "build" / "mlflow-store-restored.json").read_text())
    assert record["continued_from"]["workflow"] == ".github/workflows/deploy.yml"
    assert record["held"]["aliases"]["champion"] == "1"

    # Continue the chain: the next save names the run it continued from.
    saved = mlops(repo, "registry", "save", env=env)
    assert saved.returncode == 0, saved.stderr
    new_manifest = json.loads((repo / "build" / "mlflow-store" / "mlflow-store.json").read_text())
    assert new_manifest["continued_from"]["run_id"] == record["continued_from"]["run_id"]
    assert new_manifest["root"] == str(repo.resolve())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (truncate_db, "mlflow.db is not a sound SQLite database"),
        (drop_model_files, "alias 'champion' (v1): model 'churn-classifier' v1 holds no model"),
    ],
)
def test_a_damaged_store_fails_names_the_problem_and_leaves_nothing(
    saved_store, trained, github_api, tmp_path, damage, problem
):
    export, _ = saved_store
    publish(github_api, export, damage=damage)
    repo = without_store(trained, tmp_path / "repo")
    proc = mlops(repo, "registry", "restore", env=actions_env(github_api, repo))
    assert proc.returncode == 1
    assert "is damaged" in proc.stderr and problem in proc.stderr, proc.stderr
    assert not (repo / "mlflow.db").exists() and not (repo / "mlruns").exists()
    summary = (repo / "summary.md").read_text()
    assert "nothing was registered" in summary and "`fresh_registry`" in summary

    # A PR's read-only restore warns and lets the report fall back to main.
    pr = mlops(repo, "registry", "restore", "--read-only", env=actions_env(github_api, repo))
    assert pr.returncode == 0, pr.stderr
    assert "::warning title=Registry store not restored::" in pr.stdout
    assert not (repo / "build" / "mlflow-store-restored.json").exists()


@pytest.mark.slow
def test_fresh_no_store_and_a_tracking_server(trained, github_api, tmp_path):
    repo = without_store(trained, tmp_path / "repo")
    env = actions_env(github_api, repo)
    # No artifact at all: a fresh store, and the summary says how long artifacts live.
    proc = mlops(repo, "registry", "restore", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "started a fresh MLflow store: no trusted mlflow-store artifact" in proc.stdout
    assert "retention-days" in proc.stdout
    # Asked for: no API call at all.
    before = len(github_api.requests)
    fresh = mlops(repo, "registry", "restore", "--fresh", "true", env=env)
    assert fresh.returncode == 0 and "(`fresh_registry`)" in fresh.stdout
    assert len(github_api.requests) == before
    # A tracking server: neither command touches anything.
    server = {**env, "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}
    for action in ("restore", "save"):
        proc = mlops(repo, "registry", action, env=server)
        assert proc.returncode == 0 and "a tracking server is configured" in proc.stdout
    assert len(github_api.requests) == before
