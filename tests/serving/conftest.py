"""The served bento, built once for the serving tests of every pytest-xdist worker
(``built_once``): `make bento` from the registry's champion and challenger (a local SQLite
store), then `bentoml serve` on 127.0.0.1 (in the default mode, off: the champion alone
answers), each server with a BentoML home of its own over the one bento store."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mlops.serving.names import ServingNames

from ..conftest import GIT, VENV_BIN, built_once, execute, run, run_env, uv_binary
from ..servers import background_server, free_port

MODEL = "tabular-scorer"  # the served copy's mlflow.registered_model, not the demo's
BENTO = f"{MODEL}-service"


def columns_body(rows: list[dict]) -> dict:
    """The ``{"columns": ...}`` body of ``rows`` (one list per column)."""
    return {"columns": {name: [row[name] for row in rows] for name in rows[0]}}


def split_body(rows: list[dict]) -> dict:
    """MLflow's ``{"dataframe_split": ...}`` body of ``rows``."""
    names = list(rows[0])
    return {"dataframe_split": {"columns": names, "data": [[r[n] for n in names] for r in rows]}}


CHALLENGER_C = 0.05  # the challenger: the demo's logistic regression, regularised harder


def _build(trained: Path, base: Path) -> None:
    repo = base / "repo"
    shutil.copytree(trained, repo, symlinks=True)
    params = repo / "params.yaml"
    demo = "registered_model: churn-classifier"
    assert demo in params.read_text()
    params.write_text(params.read_text().replace(demo, f"registered_model: {MODEL}"))
    run([*GIT, "commit", "-q", "-am", "bento"], repo)
    env = run_env()
    env["BENTOML_HOME"] = str(base / "bentoml")

    def sh(*cmd: str) -> str:
        proc = execute(list(cmd), repo, env, timeout=900)
        assert proc.returncode == 0, f"{cmd} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    sh("mlops", "register")
    sh("mlops", "promote")
    champion = base / "champion.joblib"
    shutil.copyfile(repo / "models" / "model.joblib", champion)
    commit = run([*GIT, "rev-parse", "HEAD"], repo).stdout.strip()
    text = params.read_text()
    assert text.count("    C: 1.0\n") == 1
    params.write_text(text.replace("    C: 1.0\n", f"    C: {CHALLENGER_C}\n"))
    sh("dvc", "repro")
    run([*GIT, "add", "-A"], repo)
    run([*GIT, "commit", "-q", "-m", "challenger"], repo)
    sh("mlops", "register")  # alias challenger: v2, beside champion v1
    sh("make", "bento", f"UV={uv_binary()}")
    info = json.loads(sh(str(VENV_BIN / "bentoml"), "get", f"{BENTO}:latest", "-o", "json"))
    (base / "built.json").write_text(json.dumps({"version": info["version"], "commit": commit}))


@pytest.fixture(scope="package")
def built(trained, tmp_path_factory) -> dict:
    """register + promote (local SQLite store) the champion, v1; then a second, real and
    different model from a new commit, registered as the challenger, v2; then `make bento`, in
    a copy of the repo whose registered model has a name of its own (every serving name
    follows it). The copy's checkout is the challenger's; the champion's model file is kept
    beside it. Built once for every worker: the tests read it, never change it."""
    base = built_once(tmp_path_factory, "bento", lambda where: _build(trained, where))
    facts = json.loads((base / "built.json").read_text())
    env = {**run_env(), "BENTOML_HOME": str(base / "bentoml")}
    repo = base / "repo"
    return {
        "repo": repo, "env": env, "tag": f"{BENTO}:{facts['version']}",
        "dir": base / "bentoml" / "bentos" / BENTO / facts["version"],
        "champion": base / "champion.joblib", "champion_commit": facts["commit"],
        "challenger": repo / "models" / "model.joblib",
    }  # fmt: skip


def own_home(shared: Path, where: Path) -> Path:
    """A BentoML home for one server over the shared bento and model stores: `bentoml serve`
    empties its home's prometheus_multiproc_dir when it starts, which would take the metrics
    of every other server on a shared home."""
    home = Path(tempfile.mkdtemp(prefix="bentoml-home-", dir=where))
    for store in ("bentos", "models"):
        (home / store).symlink_to(shared / store, target_is_directory=True)
    return home


@contextlib.contextmanager
def serve(built: dict, where: Path, **env: str) -> Iterator[dict]:
    """`bentoml serve` of the built bento on 127.0.0.1, with ``env`` on top of the build's,
    recording every answered row under ``where``: its URL, log and records directory."""
    port = free_port()
    log = where / "serve.log"
    records = where / "records"  # every answered row recorded (mlops.serving.records)
    home = own_home(Path(built["env"]["BENTOML_HOME"]), where)
    env = {**built["env"], "BENTOML_HOME": str(home), "MLOPS_RECORD_SAMPLE": "1",
           "MLOPS_RECORDS_DIR": str(records), **env}  # fmt: skip
    cmd = [str(VENV_BIN / "bentoml"), "serve", built["tag"], "--host", "127.0.0.1"]
    with background_server(
        [*cmd, "--port", str(port)], port, "/readyz", log, env=env, cwd=where
    ) as url:
        service = ServingNames(model=MODEL).service  # the monitor's name: the service's
        yield {"url": url, "log": log, "records": records / service}


@pytest.fixture(scope="package")
def served(built, tmp_path_factory):
    """The running server (mode off: the champion alone): its URL, log and records."""
    with serve(built, tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.fixture(scope="package")
def server(served) -> str:
    return served["url"]


@pytest.fixture(scope="package")
def test_records(built) -> tuple[list[dict], np.ndarray]:
    import joblib
    import pandas as pd

    from mlops.core.config import load_params

    repo = built["repo"]
    features = load_params(repo / "params.yaml").features.used
    test = pd.read_parquet(repo / "data" / "prepared" / "test.parquet")[features].head(64)
    expected = joblib.load(built["champion"]).predict_proba(test)[:, 1]  # the one that answers
    records = json.loads(test.to_json(orient="records"))
    return records, expected
