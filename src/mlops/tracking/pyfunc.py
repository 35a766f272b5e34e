"""The MLflow pyfunc that wraps the pipeline's own artifact (models/model.joblib) unchanged.

The registry stores exactly the file DVC produced (same bytes, same md5), whatever the model
family, and this wrapper (logged as MLflow "model from code": this file is copied into the
model) loads it: ``predict`` returns the positive class's probability and the label at the
model's saved decision threshold (0.5 when the model carries none).
"""

from __future__ import annotations

from typing import Any

from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

from mlops.threshold import decision_threshold

ARTIFACT_KEY = "model"


class ThresholdedPyfunc(PythonModel):
    def load_context(self, context: Any) -> None:
        import joblib

        self.model = joblib.load(context.artifacts[ARTIFACT_KEY])
        self.threshold = decision_threshold(self.model)

    def predict(self, context, model_input, params=None):
        import pandas as pd

        proba = self.model.predict_proba(model_input)[:, 1]
        return pd.DataFrame(
            {"probability": proba, "label": (proba >= self.threshold).astype("int64")}
        )


set_model(ThresholdedPyfunc())
