"""Every model family on every task it supports, on small synthetic tables of that task with
mixed numeric and categorical columns and missing values (tests/tables.py), checked against
the simplest model of the task (the majority class, the mean) and against the output contract
the task promises."""

from __future__ import annotations

import joblib
import numpy as np
import pytest

from mlops.core.config import parse_params
from mlops.models import MODEL_FAMILIES
from mlops.stages.prepare import clean, split
from mlops.stages.train import fit
from mlops.tasks import TASKS

from ..tables import task_params, task_table

FAST = {"keras": {"max_epochs": 15}, "rf": {"n_estimators": 60}, "xgboost": {"n_estimators": 80}}
PAIRS = [
    (task, family)
    for task in ("binary", "multiclass", "regression")
    for family, spec in MODEL_FAMILIES.items()
    if task in spec.tasks
]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    out = {}
    for task in TASKS:
        tmp = tmp_path_factory.mktemp(task)
        raw = task_table(task, 900, seed=7)
        out[task] = (raw, tmp)
    return out


def _params(task: str, family: str, tmp):
    doc = task_params(task, tmp / "table.csv", tmp)
    doc["model"]["type"] = family
    doc["model"][family] = {**doc["model"][family], **FAST.get(family, {})}
    return parse_params(doc)


@pytest.mark.parametrize(("task", "family"), PAIRS, ids=[f"{t}-{f}" for t, f in PAIRS])
def test_each_family_beats_the_simplest_model_of_each_task(tables, task, family, tmp_path):
    raw, tmp = tables[task]
    params = _params(task, family, tmp)
    parts = split(clean(raw, params), params)
    result = fit(parts.train, params, device="cpu")
    model = result.model
    x, y = parts.test[params.features.used], parts.test["target"].to_numpy()
    scores = model.scores(x)
    metrics = TASKS[task].compute(y, scores, model.threshold_)
    if task == "regression":
        assert metrics["r2"] > 0.6, metrics  # the mean scores 0
        assert model.labels_ == [] and model.threshold_ is None
    else:
        majority = np.bincount(y).max() / len(y)
        assert metrics["accuracy"] > majority + 0.05, metrics
        assert model.labels_ == sorted(set(raw["outcome"])) or task == "binary"
    # the output contract: its columns, in order, with values of their schema
    outputs = model.outputs(x)
    fields = model.output_fields()
    assert list(outputs) == list(fields)
    for name, spec in fields.items():
        values = outputs[name]
        assert len(values) == len(x)
        if spec["type"] == "string":
            assert set(values) <= set(spec["enum"])
        else:
            assert np.isfinite(values.astype(float)).all()
            lo, hi = spec.get("minimum", -np.inf), spec.get("maximum", np.inf)
            assert ((values >= lo) & (values <= hi)).all()
    if task == "multiclass":
        shares = np.column_stack([outputs[f"probability_{k}"] for k in model.labels_])
        np.testing.assert_allclose(shares.sum(axis=1), 1.0, atol=1e-6)
    # a blank category and a blank number in a request are answered
    gaps = x.head(3).copy()
    gaps.loc[gaps.index[0], "colour"] = None
    gaps.loc[gaps.index[1], "amount"] = np.nan
    assert len(model.outputs(gaps)[next(iter(fields))]) == 3
    # the saved file answers the same
    joblib.dump(model, tmp_path / "model.joblib")
    again = joblib.load(tmp_path / "model.joblib").outputs(x)
    for name in fields:
        if fields[name]["type"] == "string":
            assert (again[name] == outputs[name]).all()
        else:
            np.testing.assert_allclose(again[name], outputs[name], rtol=1e-6)


def test_a_target_the_task_cannot_use_is_refused_naming_the_column(tables):
    from mlops.core.errors import DataError

    raw, tmp = tables["regression"]
    classes = raw.copy()
    classes.loc[3, "outcome"] = "n/a"
    with pytest.raises(DataError, match=r"'outcome' \(data.target\) must be numeric.*'n/a'"):
        clean(classes, _params("regression", "ridge", tmp))
    two = task_table("binary", 100)
    _, tmp_mc = tables["multiclass"]
    with pytest.raises(DataError, match=r"at least 3 labels for data.task multiclass"):
        clean(two, _params("multiclass", "logreg", tmp_mc))
