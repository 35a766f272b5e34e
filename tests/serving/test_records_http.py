"""Over HTTP: the rows a served bento answers are recorded (bentoml.monitor, off the response
path) and `mlops monitor` reads them back with the same drift figures as the same rows given
as a table."""

from __future__ import annotations

import json
import time

import pandas as pd

from ..conftest import VENV_BIN, run
from .test_service import post


def _data_lines(records) -> list[str]:
    files = sorted((records / "data").glob("data.*.log*"))
    return [line for f in files for line in f.read_text().splitlines() if line.strip()]


def test_served_records_give_the_same_drift_as_the_table(served, built, tmp_path):
    repo, records = built["repo"], served["records"]  # <MLOPS_RECORDS_DIR>/<service name>
    from mlops.core.config import load_params

    features = load_params(repo / "params.yaml").features.used
    rows = pd.read_parquet(repo / "data" / "prepared" / "test.parquet")[features].head(300)
    before = len(_data_lines(records)) if records.exists() else 0
    payload = json.loads(rows.to_json(orient="records"))
    for start in range(0, len(payload), 100):
        status, body = post(f"{served['url']}/predict", {"records": payload[start : start + 100]})
        assert status == 200, body
    deadline = time.monotonic() + 30
    while len(_data_lines(records)) < before + 300 and time.monotonic() < deadline:
        time.sleep(0.2)  # the writer thread is behind the answers, by design
    lines = _data_lines(records)[before:]
    assert len(lines) == 300
    first = json.loads(lines[0])
    assert first["model_version"] and {"probability", "label", "timestamp"} <= set(first)

    mine = tmp_path / "records" / records.name
    (mine / "data").mkdir(parents=True)
    (mine / "schema").mkdir()
    (mine / "data" / "data.0.log").write_text("\n".join(lines) + "\n")
    schema = sorted((records / "schema").glob("schema.*.log"))[0]
    (mine / "schema" / "schema.0.log").write_text(schema.read_text())
    table = tmp_path / "rows.parquet"
    rows.to_parquet(table)
    reports = {}
    for name, current in (("records", tmp_path / "records"), ("table", table)):
        out = tmp_path / f"out-{name}"
        run([str(VENV_BIN / "mlops"), "monitor", "--current", str(current), "--model",
             "models/model.joblib", "--output-dir", str(out)], repo)  # fmt: skip
        reports[name] = json.loads((out / "monitor.json").read_text())
    assert reports["records"]["current"]["source"] == "records"
    assert reports["records"]["current"]["versions"] == {first["model_version"]: 300}
    assert reports["records"]["drift"] == reports["table"]["drift"]
    assert reports["records"]["verdict"] == reports["table"]["verdict"]
