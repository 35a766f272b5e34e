"""The stages that summarise a target, per task, on synthetic tables of each task: the target's
drift (false alarms included), the suite's target rule, and the segments' figures."""

from __future__ import annotations

import numpy as np
import pytest

from mlops.core.config import parse_params
from mlops.stages import drift
from mlops.stages.evaluate import segment_metrics
from mlops.stages.prepare import clean
from mlops.stages.suite import parse_suite, profile
from mlops.stages.validate import Validator
from mlops.tasks import TASKS

from ..tables import task_params, task_table


def _params(task: str, tmp):
    return parse_params(task_params(task, tmp / "table.csv", tmp))


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_target_drift_of_each_task_flags_a_shift_and_not_a_resample(task, tmp_path):
    params = _params(task, tmp_path)
    # Two draws of the same table: no drift, in 20 pairs of seeds (a false alarm rate of 0/20).
    alarms = 0
    for seed in range(20):
        a = clean(task_table(task, 600, seed=seed), params)
        b = clean(task_table(task, 600, seed=seed + 100), params)
        alarms += drift.target_drift(a, b, params)["drifted"]
    assert alarms <= 1
    reference = clean(task_table(task, 600, seed=1), params)
    moved = task_table(task, 600, seed=2)
    if task == "regression":
        moved["outcome"] = (moved["outcome"].astype(float) + 25).astype(str)
    else:  # the first class takes a third of the other rows
        labels = sorted(set(moved["outcome"]))
        take = np.random.default_rng(0).random(len(moved)) < 0.33
        moved.loc[take, "outcome"] = labels[-1]
    result = drift.target_drift(reference, clean(moved, params), params)
    assert result["drifted"], result
    assert result["description"]


def test_the_suite_of_a_regression_target_is_a_range_of_numbers(tmp_path):
    raw = task_table("regression", 300, seed=3)
    doc = profile(raw, name="s", target="outcome", id_column="row_id", numeric_target=True)
    spec = doc["columns"]["outcome"]
    assert spec["kind"] == "target" and "values" not in spec
    values = raw["outcome"].astype(float)
    assert spec["min"] <= values.min() and spec["max"] >= values.max()
    suite = parse_suite(doc, tmp_path / "s.yaml")
    validator = Validator(suite)
    assert validator.validate(raw).success
    bad = raw.copy()
    bad.loc[4, "outcome"] = "twelve"
    report = validator.validate(bad)
    assert not report.success
    from mlops.stages.outcomes import failure_sentences

    sentences = failure_sentences(report.to_dict())
    assert any("outcome" in s and "twelve" in s for s in sentences), sentences
    classes = profile(task_table("multiclass", 300), name="s", target="outcome")
    assert classes["columns"]["outcome"]["values"] == ["high", "low", "mid"]


@pytest.mark.parametrize(
    ("task", "summary"),
    [("binary", "positive_rate"), ("multiclass", "class_shares"), ("regression", "mean_target")],
)
def test_segments_carry_the_tasks_summary_and_its_metrics(task, summary, tmp_path):
    params = _params(task, tmp_path)
    frame = clean(task_table(task, 500, seed=5), params)
    y = frame["target"].to_numpy()
    labels = frame.attrs["labels"]
    rng = np.random.default_rng(0)
    if task == "multiclass":
        scores = rng.dirichlet(np.ones(3), len(y))
    elif task == "regression":
        scores = y + rng.normal(0, 5, len(y))
    else:
        scores = rng.random(len(y))
    out = segment_metrics(TASKS[task], y, scores, frame["region"], 0.5, labels)
    assert "(missing)" in out  # a blank region is a segment of its own
    for value, row in out.items():
        assert summary in row and row["rows"] > 0, value
        assert TASKS[task].headline in row, value
    assert sum(row["rows"] for row in out.values()) == len(y)
