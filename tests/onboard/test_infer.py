"""What `mlops init` infers from a table: roles with reasons, the task, the positive label, the
id and segment columns (on synthetic tables with known structure, not the demo)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops.core.errors import DataError
from mlops.onboard.infer import infer, infer_task

from ..tables import binary_table


def roles(inferred) -> dict[str, str]:
    return {r.column: r.role for r in inferred.roles}


def test_roles_task_and_labels_of_a_binary_table():
    raw = binary_table(400, seed=0)
    raw["constant"] = "same"
    raw["empty"] = ""
    raw["note"] = [f"free text {i}" for i in range(len(raw))]
    raw.loc[0, "note"] = raw.loc[1, "note"]  # not unique: free text, not an id
    got = infer(raw, "outcome")
    assert roles(got) == {
        "outcome": "target", "row_id": "id", "amount": "numeric", "visits": "numeric",
        "flag": "numeric", "colour": "categorical", "region": "categorical",
        "constant": "dropped", "empty": "dropped", "note": "dropped",
    }  # fmt: skip
    assert got.task == "binary" and got.id_column == "row_id"
    counts = raw["outcome"].value_counts()
    assert got.positive_label == counts.idxmin()  # the rarer class
    assert got.segment_column == "colour"  # 3 values (region has 4)
    reasons = {r.column: r.reason for r in got.roles}
    assert "blank" in reasons["colour"] and "blank" in reasons["amount"]
    assert "one value" in reasons["constant"] and "free text" in reasons["note"]


def test_given_positive_label_and_no_id_column():
    raw = binary_table(200, seed=1)
    got = infer(raw, "outcome", positive_label="neg", id_column=None)
    assert got.positive_label == "neg" and got.id_column is None
    assert roles(got)["row_id"] == "dropped"  # unique free text, and no id wanted


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["a", "b"] * 10, "binary"),
        (["0", "1"] * 10, "binary"),
        (["cat", "dog", "fish"] * 10, "multiclass"),
        ([str(i % 5) for i in range(30)], "multiclass"),
        ([f"{x:.2f}" for x in np.linspace(1, 100, 40)], "regression"),
    ],
)
def test_the_task_follows_the_targets_values(values, task):
    assert infer_task(pd.Series(values), "y") == task


@pytest.mark.parametrize(
    ("values", "task", "message"),
    [
        (["a"] * 10, "auto", "one value only"),
        (["a", "b", "c"], "binary", "needs exactly 2"),
        (["a", "b", "c"], "regression", "needs numbers"),
    ],
)
def test_a_target_that_cannot_serve_the_task_is_refused(values, task, message):
    with pytest.raises(DataError, match=message):
        infer_task(pd.Series(values), "y", task)


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (
            lambda d: d.loc.__setitem__((3, "outcome"), ""),
            {},
            r"\(--target\) has 1 missing",
        ),
        (lambda d: d.rename(columns={"visits": "target"}, inplace=True), {}, "'target'"),
        (lambda d: d.rename(columns={"visits": " visits"}, inplace=True), {}, "blanks"),
        (lambda d: d.rename(columns={"visits": "Unnamed: 2"}, inplace=True), {}, "blank column"),
        (lambda d: d.__setitem__("region", "x"), {"id_column": "region"}, "duplicate id 'x'"),
        (lambda d: None, {"positive_label": "maybe"}, "'maybe' does not occur"),
        (lambda d: None, {"target": "nope"}, "no column 'nope'"),
    ],
)
def test_bad_input_names_the_column(change, kwargs, message):
    raw = binary_table(100, seed=2)
    change(raw)
    target = kwargs.pop("target", "outcome")
    with pytest.raises(DataError, match=message):
        infer(raw, target, **kwargs)
