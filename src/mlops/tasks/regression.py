"""``regression``: a numeric target; the model's score is its prediction."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from mlops.tasks.base import Task, rounded


class Regression(Task):
    name = "regression"
    higher_is_better: ClassVar[dict[str, bool]] = {"rmse": False, "mae": False, "r2": True}
    headline = "rmse"
    classification = False
    default_gate: ClassVar[dict[str, Any]] = {
        "minimums": {"r2": 0.0},  # better than predicting the mean
        "max_regression": {"r2": 0.01},
        "regression_rule": "significant",
    }

    def compute(self, y: Any, scores: Any, threshold: float | None = None) -> dict[str, float]:
        from sklearn import metrics as skm

        y = np.asarray(y, dtype="float64")
        predicted = np.asarray(scores, dtype="float64")
        return rounded(
            {
                "rmse": np.sqrt(skm.mean_squared_error(y, predicted)),
                "mae": skm.mean_absolute_error(y, predicted),
                "r2": skm.r2_score(y, predicted) if len(y) > 1 else float("nan"),
            }
        )

    def samples(
        self, y: np.ndarray, scores: np.ndarray, threshold: float | None, counts: np.ndarray
    ) -> dict[str, np.ndarray]:
        y = y.astype("float64")
        n = counts.sum(axis=1)
        error = scores - y
        sse = counts @ error**2
        mean = counts @ y / n
        sst = counts @ y**2 - n * mean**2
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(sst > 0, 1 - sse / sst, np.nan)
        return {"rmse": np.sqrt(sse / n), "mae": counts @ np.abs(error) / n, "r2": r2}


REGRESSION = Regression()
