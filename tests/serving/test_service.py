"""The BentoML service: built into a bento from the registry's champion, served with
`bentoml serve` on 127.0.0.1 and called over HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml

from ..conftest import GIT, REPO_ROOT, VENV_BIN, run, run_env
from ..servers import background_server, free_port

pytestmark = pytest.mark.slow


def uv_binary() -> str:
    local = REPO_ROOT / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    assert found, "uv not found: run `make setup` first"
    return found


@pytest.fixture(scope="module")
def built(trained, tmp_path_factory) -> dict:
    """register + promote (local SQLite store), then `make bento` in a copy of the repo."""
    base = tmp_path_factory.mktemp("bento")
    repo = base / "repo"
    shutil.copytree(trained, repo, symlinks=True)
    run([*GIT, "commit", "-q", "--allow-empty", "-m", "bento"], repo)
    env = run_env()
    env["BENTOML_HOME"] = str(base / "bentoml")

    def sh(*cmd: str) -> str:
        proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{cmd} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    sh("mlops", "register")
    sh("mlops", "promote")
    sh("make", "bento", f"UV={uv_binary()}")
    info = json.loads(sh(str(VENV_BIN / "bentoml"), "get", "churn-service:latest", "-o", "json"))
    bento_dir = Path(env["BENTOML_HOME"]) / "bentos" / "churn-service" / info["version"]
    return {"repo": repo, "env": env, "tag": f"churn-service:{info['version']}", "dir": bento_dir}


@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    cmd = [str(VENV_BIN / "bentoml"), "serve", built["tag"], "--host", "127.0.0.1"]
    with background_server(
        [*cmd, "--port", str(port)], port, "/readyz", log, env=built["env"], cwd=log.parent
    ) as url:
        yield url


def post(url: str, body: object | bytes) -> tuple[int, object]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        text = err.read().decode(errors="replace")
        try:
            return err.code, json.loads(text)
        except json.JSONDecodeError:
            return err.code, text


@pytest.fixture(scope="module")
def test_records(built) -> tuple[list[dict], np.ndarray]:
    import joblib
    import pandas as pd

    from mlops.core.config import load_params

    repo = built["repo"]
    features = load_params(repo / "params.yaml").features.used
    test = pd.read_parquet(repo / "data" / "prepared" / "test.parquet")[features].head(64)
    expected = joblib.load(repo / "models" / "model.joblib").predict_proba(test)[:, 1]
    records = json.loads(test.to_json(orient="records"))
    return records, expected


def test_valid_batch_matches_the_model_in_process(server, test_records):
    records, expected = test_records
    status, body = post(f"{server}/predict", {"records": records})
    assert status == 200, body
    assert len(body) == len(records)
    got = np.array([row["churn_probability"] for row in body])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert {row["label"] for row in body} <= {0, 1}
    assert all(row["model_version"] == body[0]["model_version"] for row in body)


def test_concurrent_requests_are_batched_and_correct(server, test_records):
    records, expected = test_records
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda r: post(f"{server}/predict", {"records": [r]}), records))
    assert all(status == 200 for status, _ in results)
    got = np.array([body[0]["churn_probability"] for _, body in results])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_metadata_names_the_registered_model(server, built):
    status, body = post(f"{server}/metadata", {})
    assert status == 200
    repo = built["repo"]
    head = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    data_md5 = yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]["md5"]
    assert body["version"] == "1"
    assert body["git_commit"] == head
    assert body["data_md5"] == data_md5
    assert 0.80 <= body["metrics"]["roc_auc"] <= 0.88
    assert body["registered_model"] == "churn-classifier"


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz", "/metrics"])
def test_bentoml_health_and_metrics_endpoints(server, path):
    with urllib.request.urlopen(f"{server}{path}", timeout=10) as response:
        assert response.status == 200


def _record(test_records, **changes) -> dict:
    record = dict(test_records[0][0])
    for key, value in changes.items():
        if value is _DELETE:
            record.pop(key)
        else:
            record[key] = value
    return record


_DELETE = object()

MALFORMED = {
    "missing field": (lambda r: {"records": [_record(r, tenure=_DELETE)]}, "tenure"),
    "wrong type": (lambda r: {"records": [_record(r, monthly_charges="lots")]}, "monthly_charges"),
    "unknown category": (lambda r: {"records": [_record(r, contract="Ten years")]}, "contract"),
    "negative number": (lambda r: {"records": [_record(r, tenure=-3)]}, "tenure"),
    "not binary": (lambda r: {"records": [_record(r, partner=2)]}, "partner"),
    "extra field": (
        lambda r: {"records": [_record(r, favourite_colour="red")]},
        "favourite_colour",
    ),
    "empty list": (lambda r: {"records": []}, "records"),
    "not a list": (lambda r: {"records": {"tenure": 1}}, "records"),
    "NaN": (
        lambda r: (
            '{"records": ['
            + json.dumps(_record(r, tenure="@NAN@")).replace('"@NAN@"', "NaN")
            + "]}"
        ).encode(),
        "tenure",
    ),
    "invalid JSON": (lambda r: b'{"records": [{"tenure": ', "JSON"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_input_gets_a_4xx_naming_the_problem(server, test_records, case):
    make, named = MALFORMED[case]
    status, body = post(f"{server}/predict", make(test_records))
    assert 400 <= status < 500, (status, body)
    assert named in json.dumps(body), body
    # ...and the service keeps answering.
    ok, _ = post(f"{server}/predict", {"records": test_records[0][:1]})
    assert ok == 200


def test_oversized_body_gets_413(server, test_records):
    limit = 1024 * 1024
    records = test_records[0] * (limit // len(json.dumps(test_records[0])) + 2)
    status, body = post(f"{server}/predict", {"records": records})
    assert status == 413
    assert "MLOPS_MAX_BODY_BYTES" in json.dumps(body)
    ok, _ = post(f"{server}/predict", {"records": test_records[0][:1]})
    assert ok == 200


def test_generated_dockerfile_passes_hadolint(built):
    dockerfile = built["dir"] / "env" / "docker" / "Dockerfile"
    assert dockerfile.exists()
    text = dockerfile.read_text()
    assert "FROM python:3.11.14-slim-bookworm" in text
    assert "USER 1034:1034" in text
    proc = subprocess.run(
        [str(VENV_BIN / "hadolint"), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bento_packs_the_champion_and_the_locked_requirements(built):
    requirements = (built["dir"] / "env" / "python" / "requirements.txt").read_text()
    assert "scikit-learn==" in requirements and "bentoml==" in requirements
    from mlops.stages.train import file_md5

    bento = yaml.safe_load((built["dir"] / "bento.yaml").read_text())
    (model,) = bento["services"][0]["models"]
    name, version = model["tag"].split(":")
    stored = Path(built["env"]["BENTOML_HOME"]) / "models" / name / version
    # Exactly the pipeline's model file (the DVC output) is what the bento serves.
    assert file_md5(stored / "model.joblib") == file_md5(built["repo"] / "models" / "model.joblib")
    schema = json.loads((stored / "schema.json").read_text())
    assert schema["fields"]["contract"]["categories"] == ["Month-to-month", "One year", "Two year"]


def test_bentofile_wheel_matches_the_project_version():
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    bentofile = yaml.safe_load((REPO_ROOT / "bentofile.yaml").read_text())
    assert bentofile["python"]["wheels"] == [
        f"./build/bento/wheels/mlops_churn-{version}-py3-none-any.whl"
    ]


def test_service_module_refuses_to_start_without_the_model(tmp_path):
    env = run_env()
    env["BENTOML_HOME"] = str(tmp_path)
    proc = subprocess.run(
        [str(VENV_BIN / "python"), "-c", "import mlops.serving.service"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "mlops bento-import" in proc.stderr
