"""Over HTTP, against the served bento that holds two real, different models (champion v1 and
challenger v2, tests/serving/conftest.py): shadow answers byte-identical to off mode's, both
models' outputs recorded and counted per version on /metrics; a canary's share within two
points over 10,000 ids and sticky; then `mlops online-report` on the recorded traffic with the
outcomes, and `mlops promote --evidence` on it."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

from ..conftest import VENV_BIN, execute
from .conftest import MODEL, columns_body, serve

pytestmark = pytest.mark.slow

ID = "customer_id"


@pytest.fixture(scope="module")
def shadow(built, tmp_path_factory):
    with serve(built, tmp_path_factory.mktemp("shadow"), MLOPS_CHALLENGER_MODE="shadow") as up:
        yield up


@pytest.fixture(scope="module")
def canary(built, tmp_path_factory):
    where = tmp_path_factory.mktemp("canary")
    env = {"MLOPS_CHALLENGER_MODE": "canary", "MLOPS_CANARY_PERCENT": "20"}
    with serve(built, where, **env) as up:
        yield up


@pytest.fixture(scope="module")
def test_split(built) -> pd.DataFrame:
    """The test split's rows, id first, as a client sends them (no NaN: JSON null)."""
    from mlops.core.config import load_params

    repo = built["repo"]
    features = load_params(repo / "params.yaml").features.used
    return pd.read_parquet(repo / "data" / "prepared" / "test.parquet")[[ID, *features]]


def rows_of(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


def local(built, role: str, frame: pd.DataFrame) -> np.ndarray:
    """The probabilities the model file of ``role`` gives in this process."""
    model = joblib.load(built[role])
    return model.predict_proba(frame.drop(columns=[ID]))[:, 1]


def raw_post(url: str, body: dict, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read()


def recorded(records: Path, prefix: str, count: int) -> list[dict]:
    """The recorded rows whose id starts with ``prefix``, once ``count`` are written."""
    deadline = time.monotonic() + 30
    while True:
        lines = [
            json.loads(line)
            for file in sorted((records / "data").glob("data.*.log*")) if records.exists()
            for line in file.read_text().splitlines() if line.strip()
        ]  # fmt: skip
        mine = [row for row in lines if str(row.get(ID) or "").startswith(prefix)]
        if len(mine) >= count or time.monotonic() > deadline:
            return mine
        time.sleep(0.2)  # the shadow scoring and the writer are behind the answers, by design


def metric(url: str, name: str, **labels: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def settled(url: str, name: str, **labels: str) -> float:
    """:func:`metric` once the shadow scoring still under way has finished (it lingers)."""
    last = metric(url, name, **labels)
    for _ in range(50):
        time.sleep(0.5)
        now = metric(url, name, **labels)
        if now == last:
            return now
        last = now
    return last


def test_shadow_answers_are_byte_identical_to_off_modes(server, shadow, test_split):
    with_ids = rows_of(test_split.head(64))
    without = [{k: v for k, v in row.items() if k != ID} for row in with_ids]
    names = list(without[0])
    bodies = [
        {"records": with_ids},
        {"records": without[:1]},
        {"columns": {n: [r[n] for r in without] for n in names}},
        {"dataframe_split": {"columns": names, "data": [[r[n] for n in names] for r in without]}},
    ]
    for body in bodies:
        assert raw_post(f"{server}/predict", body) == raw_post(f"{shadow['url']}/predict", body)


def test_shadow_records_both_models_and_counts_each_version(shadow, built, test_split):
    sent = test_split.head(200).assign(**{ID: [f"s-{i}" for i in range(200)]})
    before = settled(shadow["url"], "mlops_model_rows_total", model_version="2", role="shadow")
    status, body = raw_post(f"{shadow['url']}/predict", {"records": rows_of(sent)})
    assert status == 200
    answers = json.loads(body)
    np.testing.assert_allclose([a["probability"] for a in answers], local(built, "champion", sent))
    assert {a["model_version"] for a in answers} == {"1"}
    rows = recorded(shadow["records"], "s-", 200)
    assert len(rows) == 200
    by_id = {row[ID]: row for row in rows}
    champion, challenger = local(built, "champion", sent), local(built, "challenger", sent)
    for i, key in enumerate(sent[ID]):
        row = by_id[key]
        assert (row["route"], row["model_version"], row["shadow_model_version"]) == (
            "champion", "1", "2",
        )  # fmt: skip
        assert row["probability"] == pytest.approx(champion[i])
        assert row["shadow_probability"] == pytest.approx(challenger[i])
        assert row["latency_ms"] > 0 and row["shadow_latency_ms"] > 0
    assert not np.allclose(champion, challenger)  # two different models
    after = settled(shadow["url"], "mlops_model_rows_total", model_version="2", role="shadow")
    assert after - before == 200
    assert metric(shadow["url"], "mlops_model_rows_total", model_version="1", role="answer") >= 200
    assert metric(shadow["url"], "mlops_model_latency_seconds_count", model_version="2") >= 1
    status, meta = raw_post(f"{shadow['url']}/metadata", {})
    assert json.loads(meta)["challenger"]["version"] == "2"


def test_a_canary_answers_its_share_of_10000_ids_sticky(canary, built, test_split):
    n = 10_000
    base = test_split.sample(n, replace=True, random_state=0).reset_index(drop=True)
    frame = base.assign(**{ID: [f"entity-{i}" for i in range(n)]})
    versions: dict[str, str] = {}
    for start in range(0, n, 1000):
        part = frame.iloc[start : start + 1000]
        status, body = raw_post(f"{canary['url']}/predict", columns_body(rows_of(part)))
        assert status == 200
        answer = json.loads(body)
        versions.update(zip(part[ID], answer["model_version"], strict=True))
        mine = np.array(answer["model_version"]) == "2"
        np.testing.assert_allclose(
            np.array(answer["probability"])[mine], local(built, "challenger", part[mine])
        )
    share = 100 * sum(v == "2" for v in versions.values()) / n
    assert abs(share - 20) <= 2, share
    again = frame.sample(2000, random_state=1)  # the same entities, other requests, other order
    status, body = raw_post(f"{canary['url']}/predict", {"records": rows_of(again)})
    assert [a["model_version"] for a in json.loads(body)] == [versions[k] for k in again[ID]]
    # without an id, the header names the entity: one model for the whole request
    lone = rows_of(test_split.head(3).drop(columns=[ID]))
    for entity in ("entity-1", "entity-2", "entity-3"):
        status, body = raw_post(
            f"{canary['url']}/predict", {"records": lone}, {"X-Entity-Id": entity}
        )
        assert {a["model_version"] for a in json.loads(body)} == {versions[entity]}


def test_online_report_and_promotion_on_the_shadow_evidence(shadow, built, test_split, tmp_path):
    repo = built["repo"]
    live = test_split.assign(**{ID: "live-" + test_split[ID]})  # this test's own entities
    for start in range(0, len(live), 500):
        part = {"records": rows_of(live.iloc[start : start + 500])}
        status, _ = raw_post(f"{shadow['url']}/predict", part)
        assert status == 200
    rows = recorded(shadow["records"], "live-", len(live))
    assert len(rows) == len(live)
    mine = tmp_path / "records" / "service" / "data"
    mine.mkdir(parents=True)
    (mine / "data.0.log").write_text("\n".join(map(json.dumps, rows)) + "\n")
    raw = pd.read_csv(repo / "data" / "raw" / "churn.csv", dtype=str)
    labels = tmp_path / "outcomes.csv"
    outcomes = raw.assign(**{ID: "live-" + raw[ID]})[[ID, "churn"]]
    outcomes.to_csv(labels, index=False)  # every customer's outcome, known later

    def mlops(*args: str, params: Path | None = None) -> subprocess.CompletedProcess:
        head = ["--params", str(params)] if params else []
        return execute([str(VENV_BIN / "mlops"), *head, *args], repo, built["env"], timeout=600)

    out = tmp_path / "online"
    report = mlops(
        "online-report",
        "--records",
        str(tmp_path / "records"),
        "--labels",
        str(labels),
        "--output-dir",
        str(out),
    )
    assert report.returncode == 0, report.stderr
    doc = json.loads((out / "online-report.json").read_text())
    assert (doc["champion_version"], doc["challenger_version"]) == ("1", "2")
    assert doc["paired_rows"] == len(test_split) and doc["outcomes"]["labelled"] == len(test_split)
    from mlops.tasks import TASKS

    y = (raw.set_index(ID).loc[test_split[ID], "churn"] == "Yes").to_numpy().astype(int)
    assert len(y) == len(live)
    for role in ("champion", "challenger"):
        model = joblib.load(built[role])
        expected = TASKS["binary"].compute(y, local(built, role, test_split), model.threshold_)
        assert doc["outcomes"]["metrics"]["roc_auc"][role] == pytest.approx(
            expected["roc_auc"], abs=1e-6
        )
        assert doc["outcomes"]["metrics"]["f1"][role] == pytest.approx(expected["f1"], abs=1e-6)
    assert 0.5 < doc["agreement"]["value"] < 1  # different models, mostly agreeing

    # Promotion, on a copy of the registry (the other serving tests keep theirs).
    store = tmp_path / "mlflow.db"
    with sqlite3.connect(repo / "mlflow.db") as src, sqlite3.connect(store) as dst:
        src.backup(dst)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["mlflow"]["tracking_uri"] = f"sqlite:///{store}"
    params["gate"]["online"]["required"] = True
    strict = tmp_path / "params.yaml"
    strict.write_text(yaml.safe_dump(params, sort_keys=False))
    awaiting = mlops("promote", params=strict)
    assert (
        awaiting.returncode == 1
        and "gate.online.required asks for the comparison" in awaiting.stderr
    )
    other = {**doc, "champion_version": "99"}
    (tmp_path / "other.json").write_text(json.dumps(other))
    wrong = mlops("promote", "--evidence", str(tmp_path / "other.json"), params=strict)
    assert wrong.returncode == 1 and "not the evidence for this promotion" in wrong.stderr
    # The challenger is worse on live traffic, surely but slightly (the regularised model):
    head = doc["outcomes"]["metrics"]["roc_auc"]["difference"]
    assert doc["verdict"] == "challenger worse" and head["high"] < 0 < 0.01 + head["high"]
    # so a gate that allows no drop at all refuses it, on the evidence ...
    params["gate"]["online"]["max_regression"] = {"roc_auc": 0.0}
    none_allowed = tmp_path / "none-allowed.yaml"
    none_allowed.write_text(yaml.safe_dump(params, sort_keys=False))
    refused = mlops("promote", "--evidence", str(out / "online-report.json"), params=none_allowed)
    assert (
        refused.returncode == 1
        and "it does not pass gate.online against champion v1" in refused.stderr
    )
    assert "whole 95% interval" in refused.stderr
    # ... and one that allows 0.01 (the demo's params) promotes it, naming the evidence.
    evidence = mlops(
        "promote", "--evidence", str(out / "online-report.json"), "--json", params=strict
    )
    assert evidence.returncode == 0, evidence.stderr
    result = json.loads(evidence.stdout)
    assert result["action"] == "promoted" and result["version"] == "2"
    assert f"on the evidence of {out / 'online-report.json'}: 1,409 live rows" in result["detail"]
    assert re.search(r"roc_auc", (out / "online-report.md").read_text())
    assert doc["registered_model"] == MODEL
