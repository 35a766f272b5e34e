"""Register / promote / rollback against a real `mlflow server` on 127.0.0.1 (SQLite store)."""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from ..conftest import GIT, execute, run, run_env
from ..servers import mlflow_server

pytestmark = pytest.mark.slow

MODEL = "churn-classifier"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


def mlops(repo: Path, url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = run_env()
    env["MLFLOW_TRACKING_URI"] = url
    proc = execute(["mlops", *args], repo, env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"mlops {' '.join(args)} -> {proc.returncode}\n{proc.stderr}")
    return proc


def result(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout)


def clone_at_new_commit(src: Path, dest: Path, message: str) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    run([*GIT, "commit", "-q", "--allow-empty", "-m", message], dest)
    return dest


def client(url: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=url, registry_uri=url)


def test_register_is_idempotent_and_tagged(trained, server):
    first = result(mlops(trained, server, "register", "--json"))
    second = result(mlops(trained, server, "register", "--json"))
    assert first["action"] == "registered"
    assert second["action"] == "exists"
    assert first["version"] == second["version"]
    assert "challenger" in first["aliases"]

    version = client(server).get_model_version(MODEL, first["version"])
    tags = version.tags
    head = run(["git", "rev-parse", "HEAD"], trained).stdout.strip()
    lock = yaml.safe_load((trained / "dvc.lock").read_text())
    (model_out,) = [
        o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.joblib"
    ]
    assert tags["git_commit"] == head
    assert tags["model_md5"] == model_out["md5"]
    assert tags["data_md5"] == yaml.safe_load((trained / "data.dvc").read_text())["outs"][0]["md5"]
    assert len(tags["params_hash"]) == 16
    metrics = json.loads((trained / "metrics" / "evaluate.json").read_text())
    assert float(tags["metric.roc_auc"]) == pytest.approx(metrics["roc_auc"])
    assert tags["validation"] in ("passed", "not run")
    assert not version.current_stage or version.current_stage == "None"


def test_registered_model_predicts_like_the_pipeline(trained, server):
    import joblib
    import mlflow.pyfunc
    import pandas as pd

    version = result(mlops(trained, server, "register", "--json"))["version"]
    mlflow.set_tracking_uri(server)
    loaded = mlflow.pyfunc.load_model(f"models:/{MODEL}/{version}")
    test = pd.read_parquet(trained / "data" / "prepared" / "test.parquet")
    from mlops.core.config import load_params

    features = load_params(trained / "params.yaml").features.used
    expected = joblib.load(trained / "models" / "model.joblib").predict_proba(test[features])[:, 1]
    got = loaded.predict(test[features])["probability"].to_numpy()
    assert got == pytest.approx(expected, abs=1e-12)


def test_promote_then_worse_challenger_is_refused_then_rollback(trained, server, tmp_path):
    base = result(mlops(trained, server, "register", "--json"))["version"]
    promoted = result(mlops(trained, server, "promote", "--json"))
    assert promoted["version"] == base and "champion" in promoted["aliases"]

    # A better-or-equal model from a new commit becomes champion; the old one is recorded.
    same = clone_at_new_commit(trained, tmp_path / "same", "retrain, same model")
    v2 = result(mlops(same, server, "register", "--json"))["version"]
    assert v2 != base
    step = result(mlops(same, server, "promote", "--json"))
    assert step["action"] == "promoted" and step["previous"] == base
    assert client(server).get_model_version(MODEL, v2).tags["previous_champion"] == base

    # A clearly worse model (heavy regularisation) is registered but not promoted.
    worse = clone_at_new_commit(trained, tmp_path / "worse", "worse")
    params = yaml.safe_load((worse / "params.yaml").read_text())
    params["model"]["logreg"]["C"] = 0.0005
    (worse / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["dvc", "repro"], worse)
    run(["git", "add", "-A"], worse)
    run([*GIT, "commit", "-q", "-m", "worse"], worse)
    v3 = result(mlops(worse, server, "register", "--json"))["version"]
    refused = mlops(worse, server, "promote", check=False)
    assert refused.returncode == 1
    assert f"version {v3} not promoted: it lost to champion v{v2}" in refused.stderr
    assert "roc_auc" in refused.stderr
    assert client(server).get_model_version_by_alias(MODEL, "champion").version == v2
    # As the deploy and retrain workflows call it: a warning, exit 0, the step output false.
    output = tmp_path / "github-output"
    env = run_env() | {"MLFLOW_TRACKING_URI": server, "GITHUB_OUTPUT": str(output)}
    warned = execute(["mlops", "promote", "--refusal", "warn"], worse, env, timeout=600)
    assert warned.returncode == 0, warned.stderr
    assert f"::warning title=Not promoted::version {v3} not promoted" in warned.stdout
    assert output.read_text() == "promoted=false\nimage=false\n"  # no new image either
    assert client(server).get_model_version_by_alias(MODEL, "champion").version == v2

    # Rollback restores the previous champion; --to names any version.
    back = result(mlops(trained, server, "rollback", "--json"))
    assert back["version"] == base and back["previous"] == v2
    assert client(server).get_model_version_by_alias(MODEL, "champion").version == base
    again = result(mlops(trained, server, "rollback", "--to", v2, "--json"))
    assert again["version"] == v2
    missing = mlops(trained, server, "rollback", "--to", "999", check=False)
    assert missing.returncode == 1 and "no version '999'" in missing.stderr


def test_concurrent_registrations_of_different_commits(trained, server, tmp_path):
    repos = [clone_at_new_commit(trained, tmp_path / f"c{i}", f"commit {i}") for i in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        outs = list(pool.map(lambda r: result(mlops(r, server, "register", "--json")), repos))
    versions = [o["version"] for o in outs]
    assert all(o["action"] == "registered" for o in outs)
    assert len(set(versions)) == 3
    commits = {client(server).get_model_version(MODEL, v).tags["git_commit"] for v in versions}
    assert len(commits) == 3


def test_register_refuses_a_model_that_is_not_the_pipelines(trained, server, tmp_path):
    repo = clone_at_new_commit(trained, tmp_path / "tampered", "tampered")
    with (repo / "models" / "model.joblib").open("ab") as handle:
        handle.write(b"\0")
    proc = mlops(repo, server, "register", check=False)
    assert proc.returncode == 1
    assert "is not the model dvc.lock records" in proc.stderr


def test_register_refuses_failed_validation(trained, server, tmp_path):
    repo = clone_at_new_commit(trained, tmp_path / "invalid", "invalid data")
    (repo / "reports").mkdir(exist_ok=True)
    (repo / "reports" / "validation.json").write_text(json.dumps({"success": False}))
    before = client(server).search_model_versions(f"name = '{MODEL}'")
    proc = mlops(repo, server, "register", check=False)
    assert proc.returncode == 1 and "failed validation" in proc.stderr
    assert len(client(server).search_model_versions(f"name = '{MODEL}'")) == len(before)


def test_local_sqlite_store_works_too(trained, tmp_path):
    repo = clone_at_new_commit(trained, tmp_path / "local", "local store")
    env = run_env()
    out = execute(["mlops", "register", "--json"], repo, env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["action"] == "registered"
    promoted = execute(["mlops", "promote", "--json"], repo, env)
    assert promoted.returncode == 0, promoted.stderr
    assert (repo / "mlflow.db").exists()


def test_postgresql_backend_store(trained, tmp_path):
    """The same register/promote/rollback flow on `mlflow server` backed by PostgreSQL."""
    from ..servers import mlflow_server, postgres_bin, postgres_server

    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed here (.ci/run installs Debian's postgresql)")
    pgdir = tmp_path / "pg"
    pgdir.mkdir()
    with postgres_server(pgdir) as db, mlflow_server(tmp_path / "srv", backend_uri=db) as url:
        first = result(mlops(trained, url, "register", "--json"))
        again = result(mlops(trained, url, "register", "--json"))
        assert (first["action"], again["action"]) == ("registered", "exists")
        assert first["version"] == again["version"] == "1"
        assert result(mlops(trained, url, "promote", "--json"))["action"] == "promoted"
        newer = clone_at_new_commit(trained, tmp_path / "newer", "newer")
        assert result(mlops(newer, url, "register", "--json"))["version"] == "2"
        assert result(mlops(newer, url, "promote", "--json"))["previous"] == "1"
        back = result(mlops(newer, url, "rollback", "--json"))
        assert back["version"] == "1"
        assert client(url).get_model_version_by_alias(MODEL, "champion").version == "1"


def test_a_retrain_of_the_same_model_registers_nothing_and_says_so(trained, tmp_path):
    """`mlops register --skip-unchanged` (retrain.yml) at a new commit whose model is
    byte-identical to a registered version: nothing registered, the step output says so."""
    first = clone_at_new_commit(trained, tmp_path / "first", "first")
    out = tmp_path / "output"
    env = {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    registered = run(["mlops", "register", "--skip-unchanged", "--json"], first, env=env)
    assert json.loads(registered.stdout)["action"] == "registered"
    assert out.read_text().splitlines()[-1] == "registered=true"
    again = clone_at_new_commit(first, tmp_path / "again", "retrain, nothing changed")
    proc = run(["mlops", "register", "--skip-unchanged"], again, env=env)
    assert proc.stdout.startswith("unchanged: ")
    assert "nothing changed: the retrained model is byte-identical to version" in proc.stdout
    assert out.read_text().splitlines()[-1] == "registered=false"
    assert "nothing registered" in (tmp_path / "summary").read_text()
    db = again / "mlflow.db"
    versions = client(f"sqlite:///{db}").search_model_versions(f"name = '{MODEL}'")
    assert len(versions) == 1
    # Without the flag (a deploy, a registration by hand) the same model at a new commit is
    # a version of its own, as before.
    plain = run(["mlops", "register", "--json"], again, env=env)
    assert json.loads(plain.stdout)["action"] == "registered"
