"""The request schema generated from the feature configuration, and the three body forms
parsed against it (mlops.serving.requests; no server needed)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mlops.serving.bento import build_schema
from mlops.serving.requests import BadRequest, RequestSchema, model_frame

from .conftest import columns_body as columns
from .conftest import split_body as dataframe_split


@pytest.fixture(scope="module")
def schema(demo_split, params):
    return build_schema(demo_split.train, params)


@pytest.fixture(scope="module")
def requests(schema) -> RequestSchema:
    return RequestSchema(schema)


@pytest.fixture(scope="module")
def rows(demo_split, params) -> list[dict]:
    test = demo_split.test[params.features.used].head(5)
    return json.loads(test.to_json(orient="records"))


def records(rows: list[dict]) -> dict:
    return {"records": rows}


def parse(requests: RequestSchema, body: object) -> object:
    return requests.parse(body if isinstance(body, bytes) else json.dumps(body).encode())


def test_schema_follows_the_feature_config(schema, params):
    assert schema["order"] == params.features.used
    assert schema["fields"]["partner"]["type"] == "binary"
    assert schema["fields"]["tenure"] == {"type": "number", "nullable": False, "minimum": 0.0}
    assert schema["fields"]["total_charges"]["nullable"] is True
    assert "Fiber optic" in schema["fields"]["internet_service"]["categories"]


@pytest.mark.parametrize("form", [records, columns, dataframe_split])
def test_every_form_gives_the_model_what_the_test_frame_gives(requests, demo_split, params, form):
    from mlops.stages.train import fit

    model = fit(demo_split.train, params, device="cpu").model
    x = demo_split.test[params.features.used]
    rows = [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
        for r in x.to_dict("records")
    ]
    batch = parse(requests, form(rows))
    assert batch.rows == len(x)
    assert batch.form == ("records" if form is records else "columns")
    frame = model_frame(batch.columns)
    assert list(frame.columns) == params.features.used
    assert frame["tenure"].dtype == "float64" and frame["contract"].dtype == object
    np.testing.assert_allclose(
        model.predict_proba(frame), model.predict_proba(x), rtol=0, atol=1e-12
    )


def _set(rows: list[dict], row: int, column: str, value: object) -> list[dict]:
    changed = [dict(r) for r in rows]
    changed[row][column] = value
    return changed


# (body for the rows, the column the error must name, the row it must name or None)
INVALID = {
    "unknown category": (lambda r: _set(r, 3, "contract", "Ten years"), "contract", 3),
    "negative number": (lambda r: _set(r, 2, "tenure", -1), "tenure", 2),
    "not binary": (lambda r: _set(r, 1, "partner", 2), "partner", 1),
    "half binary": (lambda r: _set(r, 1, "partner", 0.5), "partner", 1),
    # found by the fuzz test: a float tolerance let this through as a 0/1 value
    "tiny float for binary": (
        lambda r: _set(r, 3, "dependents", 4.2354430102561034e-24),
        "dependents",
        3,
    ),
    "boolean for a number": (lambda r: _set(r, 4, "total_charges", False), "total_charges", 4),
    "boolean for binary": (lambda r: _set(r, 0, "partner", True), "partner", 0),
    "numeric string": (lambda r: _set(r, 2, "tenure", " 1e2 "), "tenure", 2),
    "null where not nullable": (lambda r: _set(r, 1, "tenure", None), "tenure", 1),
    "number for a category": (lambda r: _set(r, 1, "contract", 1), "contract", 1),
}


@pytest.mark.parametrize("form", [records, columns, dataframe_split])
@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_values_name_the_column_and_the_row(requests, rows, form, case):
    change, column, row = INVALID[case]
    with pytest.raises(BadRequest) as info:
        parse(requests, form(change(rows)))
    err = info.value
    assert err.status == 400
    assert column in err.error and f"[{row}]" in err.error, err.error
    assert column in err.detail[0]["loc"] and row in err.detail[0]["loc"]


@pytest.mark.parametrize("form", [records, columns, dataframe_split])
def test_nan_and_infinity_are_refused_naming_the_column(requests, rows, form):
    body = json.dumps(form(_set(rows, 2, "monthly_charges", 1e999))).replace("Infinity", "NaN")
    with pytest.raises(BadRequest, match=r"monthly_charges.*finite"):
        parse(requests, body.encode())


def test_unknown_and_missing_columns_are_named(requests, rows):
    extra = [dict(r, colour="red") for r in rows]
    missing = [{k: v for k, v in r.items() if k != "contract"} for r in rows]
    for form in (records, columns, dataframe_split):
        with pytest.raises(BadRequest, match="unknown column colour"):
            parse(requests, form(extra))
        with pytest.raises(BadRequest, match="missing column contract"):
            parse(requests, form(missing))
    # one bad record among good ones is named by its index
    with pytest.raises(BadRequest, match=r"records\[3\]: missing column contract"):
        parse(requests, records(rows[:3] + missing[3:]))


def test_columnar_shape_errors_name_the_column(requests, rows):
    body = columns(rows)
    ragged = json.loads(json.dumps(body))
    ragged["columns"]["tenure"].append(1.0)
    with pytest.raises(BadRequest, match=r"columns\.tenure has 6 values but female has 5"):
        parse(requests, ragged)
    empty = {"columns": {name: [] for name in body["columns"]}}
    with pytest.raises(BadRequest, match=r"columns\.female is empty"):
        parse(requests, empty)
    not_a_list = json.loads(json.dumps(body))
    not_a_list["columns"]["contract"] = {"0": "One year"}
    with pytest.raises(BadRequest, match=r"columns\.contract must be a list"):
        parse(requests, not_a_list)
    split = dataframe_split(rows)
    split["dataframe_split"]["data"][2].pop()
    with pytest.raises(BadRequest, match=r"dataframe_split\.data\[2\] must be a list of 19"):
        parse(requests, split)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"records": [{"tenure": ', "not valid JSON"),
        (b"[]", "exactly one of the keys"),
        (b'{"records": [], "columns": {}}', "exactly one of the keys"),
        (b'{"rows": []}', "exactly one of the keys"),
        (b'{"records": []}', "records is empty"),
        (b'{"records": {"tenure": 1}}', "records must be a list"),
        (b'{"records": [1]}', r"records\[0\] is not an object"),
        (b'{"columns": [1]}', "columns must be an object"),
        (b'{"dataframe_split": {"data": []}}', "dataframe_split must be an object"),
    ],
)
def test_malformed_bodies_say_what_is_wrong(requests, body, named):
    with pytest.raises(BadRequest, match=named) as info:
        parse(requests, body)
    assert info.value.body()["error"] == info.value.error


def test_openapi_request_schema_describes_the_three_forms(requests, rows, schema):
    spec = requests.openapi_request()
    assert [next(iter(form["properties"])) for form in spec["oneOf"]] == [
        "records",
        "columns",
        "dataframe_split",
    ]
    record = spec["oneOf"][0]["properties"]["records"]["items"]
    assert record["required"] == schema["order"] and record["additionalProperties"] is False
    assert record["properties"]["contract"]["enum"] == schema["fields"]["contract"]["categories"]
    assert record["properties"]["total_charges"]["nullable"] is True


@pytest.mark.parametrize("form", [records, columns, dataframe_split])
def test_the_id_column_may_ride_along_and_never_reaches_the_model(requests, rows, form, params):
    id_column = params.data.id_column
    with_ids = [
        {**row, id_column: key} for row, key in zip(rows, ["a1", 7, "b2", "c3", 9], strict=True)
    ]
    batch = parse(requests, form(with_ids))
    assert batch.ids == ["a1", "7", "b2", "c3", "9"]  # an integer id is its decimal text
    assert list(batch.columns) == params.features.used  # the model's columns only
    assert parse(requests, form(rows)).ids is None


def test_a_bad_id_is_refused_naming_its_row_and_records_may_lack_one(requests, rows, params):
    id_column = params.data.id_column
    mixed = [{**rows[0], id_column: "a"}, rows[1]]
    assert parse(requests, records(mixed)).ids == ["a", None]
    for bad in (1.5, True, None, ["a"]):
        body = records([rows[0], {**rows[1], id_column: bad}])
        with pytest.raises(
            BadRequest, match=rf"records\[1\]\.{id_column}: an id is a string or an integer"
        ):
            parse(requests, body)
    with pytest.raises(BadRequest, match="unknown column customer"):
        parse(requests, records([{**rows[0], "customer": "x"}]))
