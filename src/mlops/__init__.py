"""mlops: a pull-request-driven MLOps template (DVC pipeline, MLflow tracking)."""

__version__ = "0.1.0"
