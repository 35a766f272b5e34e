"""The batched permutation importance is scikit-learn's: the same figures for every task, on a
synthetic table of that task with categorical columns and missing values, whatever the batch."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.inspection import permutation_importance as sklearn_importance

from mlops.core.config import parse_params
from mlops.stages.importance import permutation_importance
from mlops.stages.prepare import clean, split
from mlops.stages.train import fit
from mlops.tasks import TASKS

from ..tables import task_params, task_table

# scikit-learn's scorer of each task's headline metric
SCORERS = {
    "binary": "roc_auc",
    "multiclass": "roc_auc_ovr",
    "regression": "neg_root_mean_squared_error",
}


@pytest.mark.parametrize(
    ("task", "family"), [("binary", "logreg"), ("multiclass", "rf"), ("regression", "ridge")]
)
def test_the_figures_are_scikit_learns_in_every_batch_size(task, family, tmp_path):
    table = task_table(task, 500, seed=3)
    doc = task_params(task, tmp_path / "table.csv", tmp_path)
    doc["model"]["type"] = family
    params = parse_params(doc)
    parts = split(clean(table, params), params)
    model = fit(parts.train, params, device="cpu").model
    x, y = parts.test[params.features.used], parts.test["target"].to_numpy()
    expected = sklearn_importance(
        model.pipeline, x, y, scoring=SCORERS[task], n_repeats=4, random_state=11, n_jobs=1
    )
    wanted = {
        str(name): (round(float(mean), 6), round(float(std), 6))
        for name, mean, std in zip(
            x.columns, expected.importances_mean, expected.importances_std, strict=True
        )
    }
    for batch_rows in (1, len(x) * 3, 10**7):  # a copy per call, three, all in one call
        rows = permutation_importance(
            model, x, y, repeats=4, seed=11, task=TASKS[task], batch_rows=batch_rows
        )
        got = {str(r["feature"]): (r["importance"], r["std"]) for r in rows}
        assert got.keys() == wanted.keys()
        for name, (mean, std) in wanted.items():
            assert got[name] == pytest.approx((mean, std), abs=2e-6), name
        assert [r["importance"] for r in rows] == sorted(
            (r["importance"] for r in rows), reverse=True
        )
    # the informative column leads (tests/tables.py: amount drives every task's target)
    assert rows[0]["feature"] in {"amount", "colour"}
    assert np.isfinite([r["std"] for r in rows]).all()
