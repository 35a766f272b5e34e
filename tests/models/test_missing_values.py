"""Missing values of every kind, in numeric and categorical columns, on a table that is not
the demo: training, MLflow's model logging (skops) and predictions on requests with gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops.core.config import parse_params
from mlops.stages.prepare import clean, split
from mlops.stages.train import fit
from mlops.tasks.binary import BINARY

from ..tables import binary_params, binary_table

compute_metrics = BINARY.compute

FAMILIES = ["logreg", "rf", "xgboost"]


@pytest.fixture(scope="module")
def table_split(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("missing")
    raw = binary_table(600, seed=1)
    path = tmp / "table.csv"
    raw.to_csv(path, index=False)
    from mlops.core.artifacts import read_raw

    params = parse_params(binary_params(path, tmp))
    return params, split(clean(read_raw(path), params), params), tmp


def with_model(params, model_type):
    return params.model_copy(update={"model": params.model.model_copy(update={"type": model_type})})


def test_the_blank_cells_reach_training_as_missing_values(table_split):
    _, data, _ = table_split
    assert data.train["colour"].isna().any() and data.train["amount"].isna().any()


@pytest.mark.parametrize("model_type", FAMILIES)
def test_every_family_trains_on_blank_categories_and_beats_chance(table_split, model_type):
    params, data, _ = table_split
    p = with_model(params, model_type)
    result = fit(data.train, p, device="cpu")
    proba = result.model.predict_proba(data.test[p.features.used])[:, 1]
    # The outcome depends on amount and colour: well above chance, whatever the gaps.
    assert compute_metrics(data.test["target"], proba)["roc_auc"] > 0.7


def test_requests_with_every_kind_of_missing_value_are_scored(table_split):
    params, data, _ = table_split
    model = fit(data.train, params, device="cpu").model
    rows = pd.DataFrame(
        {
            "amount": [np.nan, None, 40.0, 55.0],
            "visits": [1.0, 2.0, np.nan, 3.0],
            "flag": [0.0, 1.0, 1.0, np.nan],
            "colour": pd.array([pd.NA, "red", None, "green"], dtype="string"),
            "region": pd.Series(["", np.nan, "north", "  "], dtype=object),
        }
    )
    proba = model.predict_proba(rows)[:, 1]
    assert np.isfinite(proba).all() and proba.shape == (4,)


def test_mlflow_logs_the_model_trained_on_blank_categories(table_split, monkeypatch):
    import mlflow

    from mlops.tracking.runs import log_training

    params, data, tmp = table_split
    monkeypatch.chdir(tmp)  # no data.dvc, no git: provenance records what it finds
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # params.yaml's SQLite store
    result = fit(data.train, params, device="cpu")
    info = log_training(params, result, data.train)
    loaded = mlflow.pyfunc.load_model(f"runs:/{info['run_id']}/model")
    x = data.test[params.features.used].head(20)
    np.testing.assert_allclose(loaded.predict(x)[:, 1], result.model.predict_proba(x)[:, 1])
