"""``regression``: a numeric target; the model's score is its prediction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from mlops.tasks.base import PREDICTION, Encoded, Task, missing_target, rounded

if TYPE_CHECKING:
    import pandas as pd


class Regression(Task):
    name = "regression"
    higher_is_better: ClassVar[dict[str, bool]] = {"rmse": False, "mae": False, "r2": True}
    headline = "rmse"
    classification = False
    target_summary_name = "mean target"
    importance_meaning = "rise in RMSE"
    estimator_kind = "regressor"
    default_gate: ClassVar[dict[str, Any]] = {
        "minimums": {"r2": 0.0},  # better than predicting the mean
        "max_regression": {"r2": 0.01},
        "regression_rule": "significant",
    }

    segment_pair = ("rmse", "mae")
    comparison_images: ClassVar[dict[str, str]] = {
        "predicted_vs_actual": "Predicted vs actual",
        "residuals": "Residuals",
    }

    def encode(self, target: pd.Series, column: str, positive_label: str | None) -> Encoded:
        import pandas as pd

        from mlops.core.errors import DataError

        missing_target(target, column)
        values = pd.to_numeric(target, errors="coerce")
        bad = values.isna()
        if bad.any():
            samples = ", ".join(repr(v) for v in target[bad].unique()[:3])
            raise DataError(
                f"column {column!r} (data.target) must be numeric for data.task regression; "
                f"{int(bad.sum())} value(s) are not numbers, e.g. {samples}"
            )
        return Encoded(values.to_numpy(dtype="float64"), [])

    def importance_score(self, y: np.ndarray, scores: np.ndarray) -> float:
        from sklearn.metrics import root_mean_squared_error  # "neg_root_mean_squared_error"

        return -float(root_mean_squared_error(y, scores))

    def scores(self, model: Any, x: Any) -> np.ndarray:
        return np.asarray(model.predict(x), dtype="float64").reshape(-1)

    def output_fields(self, labels: list[str]) -> dict[str, dict[str, Any]]:
        return {PREDICTION: {"type": "number"}}

    def outputs(
        self, scores: np.ndarray, threshold: float | None, labels: list[str]
    ) -> dict[str, np.ndarray]:
        return {PREDICTION: scores}

    def plot_data(
        self, y: np.ndarray, scores: np.ndarray, threshold: float | None, labels: list[str],
        bins: int,
    ) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
        from mlops.tasks import plotdata

        actual = np.asarray(y, dtype="float64")
        return {
            "predicted_vs_actual": plotdata.predicted_vs_actual(actual, scores),
            "residuals": plotdata.residual_histogram(actual, scores),
        }

    def summarise_target(self, y: np.ndarray, labels: list[str]) -> dict[str, Any]:
        return {"mean_target": round(float(np.mean(y)), 6) if len(y) else None}

    def describe_summary(self, summary: dict[str, Any]) -> str:
        mean = summary.get("mean_target")
        return "-" if mean is None else f"{mean:.4g}"

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
