"""The MLflow pyfunc that wraps the pipeline's own artifact (models/model.joblib) unchanged.

The registry stores exactly the file DVC produced (same bytes, same md5), whatever the model
family, and this wrapper (logged as MLflow "model from code": this file is copied into the
model) loads it: ``predict`` returns the task's output columns (``mlops.tasks``: binary
``probability`` and ``label``, multiclass ``label`` and ``probability_<class>``, regression
``prediction``), as batch scoring and the service do.
"""

from __future__ import annotations

from typing import Any

from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

ARTIFACT_KEY = "model"


class ModelPyfunc(PythonModel):
    def load_context(self, context: Any) -> None:
        import joblib

        self.model = joblib.load(context.artifacts[ARTIFACT_KEY])

    def predict(self, context, model_input, params=None):
        import pandas as pd

        return pd.DataFrame(self.model.outputs(model_input))


set_model(ModelPyfunc())
