"""MLflow: runs and their logging (``runs``), the model registry with its aliases
(``registry``), the pyfunc that wraps a registered model (``pyfunc``) and where a model came
from (``provenance``)."""
