"""The service's traffic records (mlops.serving.records, through bentoml.monitor) read back by
``mlops monitor`` as the same rows given as a table; bad records are refused by name."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlops.core.errors import DataError
from mlops.monitoring import current, records
from mlops.monitoring.monitor import judge
from mlops.stages.prepare import typed_features

from .conftest import resample


def _record(reference, rows: pd.DataFrame, directory, name: str, sample: float = 1.0):
    from mlops.serving.records import Recorder

    params, model = reference.params, reference.model
    typed = typed_features(rows, params)
    columns = {
        n: typed[n].to_numpy(dtype=float) if n in params.features.numeric
        else typed[n].astype(object).where(typed[n].notna(), None).to_numpy()
        for n in params.features.used
    }  # fmt: skip
    kinds = {n: "numerical" if n in params.features.numeric else "categorical" for n in columns}
    recorder = Recorder(name, kinds, model.output_fields(), sample=sample,
                        directory=str(directory), seed=0)  # fmt: skip
    outputs = model.outputs(typed[params.features.used])
    for start in range(0, len(rows), 100):  # one request per 100 rows
        part = slice(start, start + 100)
        recorder.record({n: v[part] for n, v in columns.items()},
                        {n: v[part] for n, v in outputs.items()}, "3")  # fmt: skip
    import bentoml._internal.monitoring.api as api

    api._MONITOR_INSTANCES[name].flush()


def test_records_give_the_same_drift_figures_as_the_table(task_references, tmp_path):
    raw, reference = task_references["binary"]
    params = reference.params
    rows = resample(raw, 600, 3).drop(columns=[params.data.target])
    _record(reference, rows, tmp_path / "records", "scorer-service")
    data = tmp_path / "records" / "scorer-service" / "data"
    assert records.is_records(tmp_path / "records") and records.is_records(data)
    schema = json.loads((data.parent / "schema" / "schema.0.log").read_text().splitlines()[0])
    roles = {c["name"]: c["role"] for c in schema["columns"]}
    assert roles["amount"] == "feature" and roles["probability"] == "prediction"
    assert roles["model_version"] == "prediction"
    text = (data / "data.0.log").read_text()
    assert '"amount":null' in text and "NaN" not in text  # missing numbers: standard JSON
    first = json.loads(text.splitlines()[0])
    assert {"timestamp", "request_id", "trace_id", "label"} <= set(first)

    from_records = current.load(tmp_path / "records", params, reference.model.labels_)
    table = tmp_path / "rows.csv"
    rows.to_csv(table, index=False)
    from_table = current.load(table, params, reference.model.labels_)
    assert from_records.source == "records" and from_records.versions == {"3": 600}
    a = judge(reference, from_records, params, "records")
    b = judge(reference, from_table, params, "table")
    assert a.drift.model_dump() == b.drift.model_dump()


def test_a_sample_rate_keeps_about_that_share_of_rows(task_references, tmp_path):
    raw, reference = task_references["regression"]
    rows = resample(raw, 2000, 4)
    _record(reference, rows, tmp_path, "sampled", sample=0.25)
    lines = (tmp_path / "sampled" / "data" / "data.0.log").read_text().splitlines()
    assert 400 <= len(lines) <= 600  # 500 expected; sd about 19
    assert all("prediction" in json.loads(line) for line in lines[:5])


def test_records_of_another_model_are_refused_naming_the_feature(task_references, tmp_path):
    _, reference = task_references["binary"]
    data = tmp_path / "svc" / "data"
    data.mkdir(parents=True)
    (data / "data.0.log").write_text(json.dumps({"height": 1.0, "timestamp": "t"}) + "\n")
    with pytest.raises(DataError, match="no column 'amount'"):
        current.load(tmp_path, reference.params, reference.model.labels_)
    (data / "data.0.log").write_text("not json\n")
    with pytest.raises(DataError, match=r"data.0.log:1: not a JSON record"):
        current.load(tmp_path, reference.params, reference.model.labels_)


def test_a_class_the_model_never_saw_is_refused_naming_it(task_references, tmp_path):
    raw, reference = task_references["multiclass"]
    rows = resample(raw, 300, 1)
    rows.loc[0, "outcome"] = "extreme"
    path = tmp_path / "labelled.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(DataError, match="class 'extreme', which the model never saw"):
        current.load(path, reference.params, reference.model.labels_)
