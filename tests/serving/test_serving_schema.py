"""The request schema generated from the feature configuration (no server needed)."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from mlops.serving.bento import build_schema, record_model, records_frame


@pytest.fixture(scope="module")
def schema(demo_split, params):
    return build_schema(demo_split.train, params)


@pytest.fixture(scope="module")
def record_cls(schema):
    return record_model(schema)


@pytest.fixture
def valid(demo_split, params) -> dict:
    row = demo_split.test[params.features.used].iloc[0].to_dict()
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


def test_schema_follows_the_feature_config(schema, params):
    assert schema["order"] == params.features.used
    assert schema["fields"]["partner"]["type"] == "binary"
    assert schema["fields"]["tenure"] == {"type": "number", "nullable": False, "minimum": 0.0}
    assert schema["fields"]["total_charges"]["nullable"] is True
    assert "Fiber optic" in schema["fields"]["internet_service"]["categories"]


def test_valid_record_round_trips_to_the_model_frame(record_cls, valid, schema):
    record = record_cls(**valid)
    frame = records_frame([record], schema["order"])
    assert list(frame.columns) == schema["order"]
    assert frame["tenure"].dtype == "float64"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("contract", "Ten years"),
        ("tenure", -1),
        ("tenure", float("nan")),
        ("partner", 3),
        ("monthly_charges", "x"),
        ("tenure", None),
    ],
)
def test_invalid_values_name_the_field(record_cls, valid, field, value):
    with pytest.raises(ValidationError) as info:
        record_cls(**{**valid, field: value})
    assert info.value.errors()[0]["loc"] == (field,)


def test_extra_and_missing_fields_rejected(record_cls, valid):
    with pytest.raises(ValidationError, match="colour"):
        record_cls(**valid, colour="red")
    del valid["contract"]
    with pytest.raises(ValidationError, match="contract"):
        record_cls(**valid)


def test_records_frame_gives_the_model_what_the_test_frame_gives(demo_split, params, record_cls):
    import numpy as np

    from mlops.stages.train import fit

    model = fit(demo_split.train, params, device="cpu").model
    x = demo_split.test[params.features.used]
    records = [
        record_cls(
            **{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
        )
        for r in x.to_dict("records")
    ]
    frame = records_frame(records, params.features.used)
    assert frame["tenure"].dtype == "float64" and frame["contract"].dtype == object
    np.testing.assert_allclose(
        model.predict_proba(frame), model.predict_proba(x), rtol=0, atol=1e-12
    )
